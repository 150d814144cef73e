import Foundation
import Testing

@Suite struct SessionEndpointTests {
    @Test func loggingInAnswers201WithATokenThatWorks() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let name = uniqueName("login")
        _ = try await TestClient.shared.request(.POST, "\(base)/v1/accounts", json: ["username": name, "password": "password123"])
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/sessions", json: ["username": name.uppercased(), "password": "password123"])
        #expect(response.status == 201)
        #expect(response.json["username"] as? String == name)
        let token = try #require(response.json["token"] as? String)
        #expect(try await TestClient.shared.get("\(base)/v1/inbox", token: token).status == 200)
    }

    @Test func aWrongPasswordAndAnUnknownUserLookTheSame() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let user = try await ChatUser.register(uniqueName("pw"), at: base)
        let wrong = try await TestClient.shared.request(
            .POST, "\(base)/v1/sessions", json: ["username": user.username, "password": "wrong-password"])
        let unknown = try await TestClient.shared.request(
            .POST, "\(base)/v1/sessions", json: ["username": uniqueName("nobody"), "password": "wrong-password"])
        #expect(wrong.status == 401)
        #expect(unknown.status == 401)
        #expect(wrong.body == unknown.body)
        #expect(wrong.errorCode == "invalid_credentials")
    }

    @Test func loggingOutRevokesThatToken() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let user = try await ChatUser.register(uniqueName("out"), at: base)
        let response = try await TestClient.shared.request(.DELETE, "\(base)/v1/sessions/current", token: user.token)
        #expect(response.status == 204)
        let after = try await user.inbox()
        #expect(after.status == 401)
        #expect(after.errorCode == "unauthorized")
    }

    @Test(arguments: ["", "Bearer", "Bearer not-a-real-token", "Basic dXNlcjpwYXNz"])
    func aMissingOrBadTokenIs401WithBearerChallenge(_ authorization: String) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let headers = authorization.isEmpty ? [] : [("Authorization", authorization)]
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/messages", json: ["to": "x", "body": "y"], headers: headers)
        #expect(response.status == 401)
        #expect(response.headers.first(name: "WWW-Authenticate") == "Bearer")
        #expect(response.errorCode == "unauthorized")
    }
}
