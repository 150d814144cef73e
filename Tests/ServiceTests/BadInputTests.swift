import Foundation
import Testing

/// Bad input gets a clear 4xx JSON error and changes nothing.
@Suite struct BadInputTests {
    static let malformedBodies: [(String, [UInt8])] = [
        ("malformed JSON", Array("{\"username\": ".utf8)),
        ("a JSON array", Array("[1, 2]".utf8)),
        ("a JSON string", Array("\"alice\"".utf8)),
        ("invalid UTF-8", [0x7B, 0x22, 0x75, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]),
        ("an empty body", []),
    ]

    @Test(arguments: 0..<malformedBodies.count)
    func malformedBodiesAre400AndCreateNothing(_ index: Int) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let (name, body) = Self.malformedBodies[index]
        let response = try await TestClient.shared.request(.POST, "\(base)/v1/accounts", rawBody: body)
        #expect(response.status == 400, "\(name) answered \(response.status)")
        #expect(response.errorCode == "invalid_json", "\(name) answered \(response.text)")
    }

    @Test(arguments: [
        #"{"username": 5, "password": "password123"}"#,
        #"{"username": "someone"}"#,
        #"{"password": "password123"}"#,
        #"{"username": null, "password": "password123"}"#,
    ])
    func wrongTypesAndMissingFieldsAre400(_ body: String) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let response = try await TestClient.shared.request(.POST, "\(base)/v1/accounts", rawBody: Array(body.utf8))
        #expect(response.status == 400)
        #expect(response.errorCode == "invalid_request")
        #expect((response.json["error"] as? [String: Any])?["message"] is String)
    }

    /// Foundation's decoder would keep one of the two values; which one is not the sender's to guess.
    /// Found by probing: the first value won, silently.
    @Test(arguments: [
        "/v1/inbox?limit=5&limit=1", "/v1/inbox?after=0&wait=1&wait=0", "/v1/inbox?consistency=stale&consistency=linearizable",
        "/v1/accounts?pattern=a*&pattern=b*", "/v1/accounts?after=a&after=b",
    ])
    func aQueryParameterGivenTwiceIs400(_ target: String) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("q"), at: base)
        let response = try await TestClient.shared.get("\(base)\(target)", token: alice.token)
        #expect(response.status == 400, "\(target) answered \(response.status)")
        #expect(response.errorCode == "invalid_request")
        #expect(response.text.contains("more than once"), "\(response.text)")
    }

    @Test func aSendNamingItsRecipientTwiceIs400AndDeliversNothing() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("twice"), at: base)
        let bob = try await ChatUser.register(uniqueName("twice"), at: base)
        let body = #"{"to":"\#(bob.username)","body":"hi","to":"\#(alice.username)"}"#
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/messages", token: alice.token, rawBody: Array(body.utf8))
        #expect(response.status == 400, "answered \(response.status): \(response.text)")
        #expect(response.errorCode == "invalid_json")
        #expect(try await bob.inbox().messages.isEmpty)
        #expect(try await alice.inbox().messages.isEmpty)
    }

    /// The per-connection memory pool is 4 KiB (what keeps long-polls cheap); request headers
    /// that do not fit are refused by libmicrohttpd itself, and the replica keeps serving.
    @Test func headersTooLargeForTheConnectionPoolAre431AndTheReplicaKeepsServing() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let large = String(repeating: "x", count: 8 * 1024)
        let refused = try await TestClient.shared.request(.GET, "\(base)/healthz", headers: [("X-Large", large)])
        #expect(refused.status == 431)
        let ordinary = try await TestClient.shared.request(.GET, "\(base)/healthz", headers: [("X-Ordinary", String(large.prefix(2_000)))])
        #expect(ordinary.status == 200, "2 KB of headers must still fit")
    }

    @Test func aBodyOver256KiBIs413() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("big"), at: base)
        let huge = "{\"to\":\"\(alice.username)\",\"body\":\"" + String(repeating: "x", count: 300 * 1024) + "\"}"
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/messages", token: alice.token, rawBody: Array(huge.utf8))
        #expect(response.status == 413)
        #expect(response.errorCode == "payload_too_large")
        #expect(try await alice.inbox().messages.isEmpty)
    }

    @Test(arguments: [nil, "text/plain", "application/x-www-form-urlencoded"] as [String?])
    func aBodyThatIsNotDeclaredJSONIs415(_ contentType: String?) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let body = Array("{\"username\":\"\(uniqueName("ct"))\",\"password\":\"password123\"}".utf8)
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/accounts", rawBody: body, contentType: contentType)
        #expect(response.status == 415)
        #expect(response.errorCode == "unsupported_media_type")
    }

    @Test func aJSONContentTypeWithParametersIsAccepted() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let body = Array("{\"username\":\"\(uniqueName("cs"))\",\"password\":\"password123\"}".utf8)
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/accounts", rawBody: body, contentType: "Application/JSON; charset=utf-8")
        #expect(response.status == 201)
    }

    @Test func aWrongMethodIs405WithAllow() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let response = try await TestClient.shared.request(.PUT, "\(base)/v1/messages", json: [:] as [String: Any])
        #expect(response.status == 405)
        #expect(response.headers.first(name: "Allow") == "POST")
        #expect(response.errorCode == "method_not_allowed")
    }

    @Test func anUnknownPathIs404() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let response = try await TestClient.shared.get("\(base)/v2/nothing")
        #expect(response.status == 404)
        #expect(response.errorCode == "not_found")
    }

    @Test func aQueryValueThatIsNotUTF8Is400() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("utf"), at: base)
        let response = try await TestClient.shared.get("\(base)/v1/accounts?pattern=%FF%FE", token: alice.token)
        #expect(response.status == 400)
        #expect(response.errorCode == "invalid_request")
    }
}
