import Foundation
import Testing

/// Drives the API as one user: register, log in, send, read, ack.
struct ChatUser: Sendable {
    let baseURL: String
    let username: String
    let token: String

    static func register(_ username: String, at baseURL: String, password: String = "password123") async throws -> ChatUser {
        let client = TestClient.shared
        let created = try await client.request(.POST, "\(baseURL)/v1/accounts", json: ["username": username, "password": password])
        guard created.status == 201 else { throw TestFailure("register \(username): \(created.status) \(created.text)") }
        let session = try await client.request(.POST, "\(baseURL)/v1/sessions", json: ["username": username, "password": password])
        guard session.status == 201, let token = session.json["token"] as? String else {
            throw TestFailure("login \(username): \(session.status) \(session.text)")
        }
        return ChatUser(baseURL: baseURL, username: username, token: token)
    }

    func send(to recipient: String, _ body: String, key: String? = nil) async throws -> TestClient.Response {
        try await TestClient.shared.request(
            .POST, "\(baseURL)/v1/messages", token: token, json: ["to": recipient, "body": body],
            headers: key.map { [("Idempotency-Key", $0)] } ?? [])
    }

    func inbox(_ query: String = "") async throws -> TestClient.Response {
        try await TestClient.shared.get("\(baseURL)/v1/inbox\(query.isEmpty ? "" : "?" + query)", token: token)
    }

    func ack(upTo seq: Int) async throws -> TestClient.Response {
        try await TestClient.shared.request(.POST, "\(baseURL)/v1/inbox/ack", token: token, json: ["up_to": seq])
    }
}

extension TestClient.Response {
    var messages: [[String: Any]] { json["messages"] as? [[String: Any]] ?? [] }
    var bodies: [String] { messages.compactMap { $0["body"] as? String } }
}
