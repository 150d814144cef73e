import Foundation
import NIOHTTP1
import Testing

/// Authentication comes before validation, and before the body is read: a call that needs a
/// token and lacks a valid one is 401 with `WWW-Authenticate: Bearer`, whatever its input.
@Suite struct AuthenticationOrderTests {
    /// Token-guarded calls with input that would be refused as invalid.
    static let guardedCallsWithBadInput: [(method: HTTPMethod, path: String, body: String?)] = [
        (.POST, "/v1/messages", #"{"to": 5"#),
        (.POST, "/v1/inbox/ack", #"{"up_to": -1}"#),
        (.GET, "/v1/inbox?wait=forever", nil),
        (.GET, "/v1/accounts?pattern=%25%25", nil),
        (.DELETE, "/v1/sessions/current", nil),
        (.DELETE, "/v1/accounts/not%20a%20name", nil),
    ]

    @Test(arguments: 0..<guardedCallsWithBadInput.count, [nil, "not-a-session-token"] as [String?])
    func aCallWithoutAValidTokenIs401WhateverItsInput(_ call: Int, token: String?) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let (method, path, body) = Self.guardedCallsWithBadInput[call]
        let response = try await TestClient.shared.request(
            method, base + path, token: token, rawBody: body.map { Array($0.utf8) })
        #expect(response.status == 401, "\(method) \(path) with token \(token ?? "none") answered \(response.status)")
        #expect(response.headers.first(name: "WWW-Authenticate") == "Bearer")
        #expect(response.errorCode == "unauthorized")
    }

    @Test func aValidTokenStillHasItsInputValidated() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("valid"), at: base)
        let response = try await TestClient.shared.request(
            .POST, "\(base)/v1/messages", token: alice.token, rawBody: Array(#"{"to": 5"#.utf8))
        #expect(response.status == 400)
    }

    /// The body is announced but never sent: only a refusal made from the headers can answer.
    @Test func aSendWithoutATokenIsRefusedBeforeItsBodyIsRead() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        connection.send(
            "POST /v1/messages HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                + "Content-Length: 200000\r\n\r\n{\"to\": \"someone\", \"body\": \"")
        #expect(connection.readStatus() == 401)
    }
}
