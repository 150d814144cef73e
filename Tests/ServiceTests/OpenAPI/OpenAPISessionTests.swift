import Foundation
import Testing

/// `POST /v1/sessions` and `DELETE /v1/sessions/current` through the generated client.
@Suite struct OpenAPISessionTests {
    @Test func createSessionAnswers201WithADocumentedSession() async throws {
        let api = try await OpenAPIConnection.shared()
        let user = try await api.registerUnique("login")
        let session = try await api.client.createSession(body: .json(.init(username: user.username, password: user.password)))
            .created.body.json
        #expect(session.username == user.username)
        #expect(!session.token.isEmpty)
        #expect(session.token != user.token, "each login opens a new session")
        try await api.expectOnlyDocumentedFields(of: session, from: "createSession")
    }

    @Test func createSessionWithAWrongPasswordIs401InvalidCredentials() async throws {
        let api = try await OpenAPIConnection.shared()
        let user = try await api.registerUnique("wrong")
        let output = try await api.client.createSession(body: .json(.init(username: user.username, password: "not-the-password")))
        expectError(try output.unauthorized.body.json, code: "invalid_credentials")
    }

    @Test func createSessionForAnUnknownUserIs401InvalidCredentials() async throws {
        let api = try await OpenAPIConnection.shared()
        let output = try await api.client.createSession(body: .json(.init(username: uniqueName("ghost"), password: "password123")))
        expectError(try output.unauthorized.body.json, code: "invalid_credentials")
    }

    @Test func createSessionWithMalformedJSONIs400InvalidJSON() async throws {
        let api = try await OpenAPIConnection.shared().rewriting(.body(Array("[1, 2".utf8)))
        let output = try await api.client.createSession(body: .json(.init(username: "someone", password: "password123")))
        expectError(try output.badRequest.body.json, code: "invalid_json")
    }

    @Test func createSessionOver256KiBIs413PayloadTooLarge() async throws {
        let api = try await OpenAPIConnection.shared()
        let output = try await api.client.createSession(
            body: .json(.init(username: "someone", password: OpenAPIAccountTests.bodyOver256KiB)))
        expectError(try output.contentTooLarge.body.json, code: "payload_too_large")
    }

    @Test func createSessionWithoutAContentTypeIs415UnsupportedMediaType() async throws {
        let api = try await OpenAPIConnection.shared().rewriting(.contentType(nil))
        let output = try await api.client.createSession(body: .json(.init(username: "someone", password: "password123")))
        expectError(try output.unsupportedMediaType.body.json, code: "unsupported_media_type")
    }

    @Test func deleteCurrentSessionAnswers204AndRevokesTheToken() async throws {
        let shared = try await OpenAPIConnection.shared()
        let api = shared.authenticated(as: try await shared.registerUnique("out"))
        _ = try await api.client.deleteCurrentSession().noContent
        let output = try await api.client.readInbox()
        expectError(try output.unauthorized.body.json, code: "unauthorized")
    }

    @Test func deleteCurrentSessionWithAnUnknownTokenIs401WithWWWAuthenticate() async throws {
        let api = try await OpenAPIConnection(baseURL: SharedReplica.instance.baseURL(), token: "not-a-token")
        let unauthorized = try await api.client.deleteCurrentSession().unauthorized
        #expect(unauthorized.headers.WWW_hyphen_Authenticate == "Bearer")
        expectError(try unauthorized.body.json, code: "unauthorized")
    }
}
