import Foundation
import Testing

@Suite struct AccountEndpointTests {
    @Test func creatingAnAccountAnswers201WithUsernameAndCreationTime() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let name = uniqueName("Create")
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/accounts", json: ["username": name, "password": "password123"])
        #expect(response.status == 201)
        #expect(response.json["username"] as? String == name)
        let createdAt = try #require(response.json["created_at"] as? String)
        #expect(ISO8601DateFormatter.withFractions.date(from: createdAt) != nil, "created_at \(createdAt) is not RFC 3339")
    }

    @Test(arguments: ["", ".dot", "-dash", "has space", "ünïcode", String(repeating: "x", count: 33)])
    func invalidUsernamesAreRefused(_ username: String) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/accounts", json: ["username": username, "password": "password123"])
        #expect(response.status == 400)
        #expect(response.errorCode == "invalid_username")
    }

    @Test(arguments: [7, 257])
    func passwordsOutside8To256BytesAreRefused(_ length: Int) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/accounts",
            json: ["username": uniqueName("pw"), "password": String(repeating: "p", count: length)])
        #expect(response.status == 400)
        #expect(response.errorCode == "invalid_password")
    }

    @Test func aUsernameDifferingOnlyInCaseIsTaken() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let name = uniqueName("case")
        _ = try await ChatUser.register(name, at: base)
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/accounts", json: ["username": name.uppercased(), "password": "password123"])
        #expect(response.status == 409)
        #expect(response.errorCode == "username_taken")
    }

    @Test func listingMatchesWildcardsIgnoringCaseInUsernameOrder() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let prefix = uniqueName("lst")
        let user = try await ChatUser.register("\(prefix)-b", at: base)
        _ = try await ChatUser.register("\(prefix)-A", at: base)
        _ = try await ChatUser.register("\(prefix)-cc", at: base)
        let all = try await TestClient.shared.get("\(base)/v1/accounts?pattern=\(prefix.uppercased())-*", token: user.token)
        #expect(all.status == 200)
        let names = (all.json["accounts"] as? [[String: Any]] ?? []).compactMap { $0["username"] as? String }
        #expect(names == ["\(prefix)-A", "\(prefix)-b", "\(prefix)-cc"])
        #expect(all.json["next"] is NSNull)
        let single = try await TestClient.shared.get("\(base)/v1/accounts?pattern=\(prefix)-?", token: user.token)
        let singles = (single.json["accounts"] as? [[String: Any]] ?? []).compactMap { $0["username"] as? String }
        #expect(singles == ["\(prefix)-A", "\(prefix)-b"])
    }

    @Test func listingPagesWithLimitAndAfter() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let prefix = uniqueName("page")
        let user = try await ChatUser.register("\(prefix)1", at: base)
        _ = try await ChatUser.register("\(prefix)2", at: base)
        _ = try await ChatUser.register("\(prefix)3", at: base)
        let first = try await TestClient.shared.get("\(base)/v1/accounts?pattern=\(prefix)*&limit=2", token: user.token)
        let firstNames = (first.json["accounts"] as? [[String: Any]] ?? []).compactMap { $0["username"] as? String }
        #expect(firstNames == ["\(prefix)1", "\(prefix)2"])
        let next = try #require(first.json["next"] as? String)
        let second = try await TestClient.shared.get(
            "\(base)/v1/accounts?pattern=\(prefix)*&limit=2&after=\(next)", token: user.token)
        let secondNames = (second.json["accounts"] as? [[String: Any]] ?? []).compactMap { $0["username"] as? String }
        #expect(secondNames == ["\(prefix)3"])
        #expect(second.json["next"] is NSNull)
    }

    @Test(arguments: ["limit=0", "limit=1001", "limit=abc", "pattern=a%5Bb", "pattern=", "consistency=eventual"])
    func listingRefusesOutOfRangeQueries(_ query: String) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let user = try await ChatUser.register(uniqueName("q"), at: base)
        let response = try await TestClient.shared.get("\(base)/v1/accounts?\(query)", token: user.token)
        #expect(response.status == 400, "query \(query) answered \(response.status)")
        #expect(response.errorCode == "invalid_request")
    }

    @Test func listingNeedsAToken() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let response = try await TestClient.shared.get("\(base)/v1/accounts")
        #expect(response.status == 401)
        #expect(response.headers.first(name: "WWW-Authenticate") == "Bearer")
    }

    @Test func deletingYourOwnAccountRemovesItAndLaterSendsGet404() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let doomed = try await ChatUser.register(uniqueName("del"), at: base)
        let sender = try await ChatUser.register(uniqueName("snd"), at: base)
        _ = try await sender.send(to: doomed.username, "before")
        let deleted = try await TestClient.shared.request(.DELETE, "\(base)/v1/accounts/\(doomed.username)", token: doomed.token)
        #expect(deleted.status == 204)
        let after = try await sender.send(to: doomed.username, "after")
        #expect(after.status == 404)
        #expect(after.errorCode == "no_such_user")
        let oldToken = try await doomed.inbox()
        #expect(oldToken.status == 401, "the deleted account's session must be gone")
    }

    @Test func deletingSomeoneElsesAccountIsForbidden() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let bob = try await ChatUser.register(uniqueName("b"), at: base)
        let response = try await TestClient.shared.request(.DELETE, "\(base)/v1/accounts/\(bob.username)", token: alice.token)
        #expect(response.status == 403)
        #expect(response.errorCode == "forbidden")
    }

    @Test func deletingAnUnknownAccountIs404() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let response = try await TestClient.shared.request(.DELETE, "\(base)/v1/accounts/\(uniqueName("ghost"))", token: alice.token)
        #expect(response.status == 404)
        #expect(response.errorCode == "no_such_user")
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
