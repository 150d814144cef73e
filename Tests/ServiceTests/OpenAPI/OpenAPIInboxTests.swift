import Foundation
import Testing

/// `GET /v1/inbox` and `POST /v1/inbox/ack` through the generated client.
@Suite struct OpenAPIInboxTests {
    /// A recipient with `count` messages from a fresh sender.
    static func recipient(withMessages count: Int) async throws -> OpenAPIConnection {
        let shared = try await OpenAPIConnection.shared()
        let sender = shared.authenticated(as: try await shared.registerUnique("snd"))
        let recipient = try await shared.registerUnique("rcv")
        for index in 0..<count {
            _ = try await sender.client.sendMessage(body: .json(.init(to: recipient.username, body: "m\(index)"))).created
        }
        return shared.authenticated(as: recipient)
    }

    static func authenticated() async throws -> OpenAPIConnection {
        try await recipient(withMessages: 0)
    }

    // MARK: readInbox

    @Test func readInboxAnswers200WithADocumentedInbox() async throws {
        let api = try await Self.recipient(withMessages: 3)
        let inbox = try await api.client.readInbox().ok.body.json
        #expect(inbox.messages.map(\.body) == ["m0", "m1", "m2"])
        #expect(inbox.messages.map(\.seq) == [1, 2, 3])
        #expect(inbox.next_after == 3)
        try await api.expectOnlyDocumentedFields(of: inbox, from: "readInbox")
    }

    @Test func readInboxWithAfterAndLimitAnswersThatWindow() async throws {
        let api = try await Self.recipient(withMessages: 4)
        let inbox = try await api.client.readInbox(query: .init(after: 1, limit: 2)).ok.body.json
        #expect(inbox.messages.map(\.seq) == [2, 3])
        #expect(inbox.next_after == 3)
    }

    @Test func readInboxOfAnEmptyInboxAnswersTheRequestsAfter() async throws {
        let api = try await Self.authenticated()
        let inbox = try await api.client.readInbox(query: .init(after: 7)).ok.body.json
        #expect(inbox.messages.isEmpty)
        #expect(inbox.next_after == 7)
    }

    @Test func readInboxWithAWaitThatRunsOutAnswersAnEmptyInbox() async throws {
        let api = try await Self.authenticated()
        let started = ContinuousClock.now
        let inbox = try await api.client.readInbox(query: .init(wait: 1)).ok.body.json
        #expect(ContinuousClock.now - started >= .milliseconds(900), "the server did not wait")
        #expect(inbox.messages.isEmpty)
        #expect(inbox.next_after == 0)
    }

    @Test func readInboxWithStaleConsistencyAnswers200() async throws {
        let api = try await Self.recipient(withMessages: 1)
        let inbox = try await api.client.readInbox(query: .init(consistency: .stale)).ok.body.json
        #expect(inbox.messages.map(\.body) == ["m0"])
    }

    @Test func readInboxWithAWaitOver60Is400InvalidRequest() async throws {
        let api = try await Self.authenticated()
        let output = try await api.client.readInbox(query: .init(wait: 61))
        expectError(try output.badRequest.body.json, code: "invalid_request")
    }

    @Test func readInboxWithANegativeAfterIs400InvalidRequest() async throws {
        let api = try await Self.authenticated()
        let output = try await api.client.readInbox(query: .init(after: -1))
        expectError(try output.badRequest.body.json, code: "invalid_request")
    }

    @Test func readInboxWithoutATokenIs401() async throws {
        let api = try await OpenAPIConnection.shared()
        let unauthorized = try await api.client.readInbox().unauthorized
        #expect(unauthorized.headers.WWW_hyphen_Authenticate == "Bearer")
        expectError(try unauthorized.body.json, code: "unauthorized")
    }

    // MARK: acknowledgeInbox

    @Test func acknowledgeInboxAnswers200AndHidesTheAcknowledgedMessages() async throws {
        let api = try await Self.recipient(withMessages: 3)
        let acknowledgement = try await api.client.acknowledgeInbox(body: .json(.init(up_to: 2))).ok.body.json
        #expect(acknowledgement.acked_up_to == 2)
        try await api.expectOnlyDocumentedFields(of: acknowledgement, from: "acknowledgeInbox")
        let inbox = try await api.client.readInbox().ok.body.json
        #expect(inbox.messages.map(\.seq) == [3])
    }

    @Test func acknowledgeInboxBeyondTheLastMessageStopsAtTheLastMessage() async throws {
        let api = try await Self.recipient(withMessages: 2)
        let acknowledgement = try await api.client.acknowledgeInbox(body: .json(.init(up_to: 99))).ok.body.json
        #expect(acknowledgement.acked_up_to == 2)
    }

    @Test func acknowledgeInboxWithANegativeUpToIs400InvalidRequest() async throws {
        let api = try await Self.authenticated()
        let output = try await api.client.acknowledgeInbox(body: .json(.init(up_to: -1)))
        expectError(try output.badRequest.body.json, code: "invalid_request")
    }

    @Test func acknowledgeInboxWithoutATokenIs401() async throws {
        let api = try await OpenAPIConnection.shared()
        let output = try await api.client.acknowledgeInbox(body: .json(.init(up_to: 0)))
        expectError(try output.unauthorized.body.json, code: "unauthorized")
    }

    @Test func acknowledgeInboxOver256KiBIs413PayloadTooLarge() async throws {
        let api = try await Self.authenticated().rewriting(.paddedBody(#"{"up_to": 0}"#, spaces: 300 * 1024))
        let output = try await api.client.acknowledgeInbox(body: .json(.init(up_to: 0)))
        expectError(try output.contentTooLarge.body.json, code: "payload_too_large")
    }

    @Test func acknowledgeInboxDeclaredAsPlainTextIs415UnsupportedMediaType() async throws {
        let api = try await Self.authenticated().rewriting(.contentType("text/plain"))
        let output = try await api.client.acknowledgeInbox(body: .json(.init(up_to: 0)))
        expectError(try output.unsupportedMediaType.body.json, code: "unsupported_media_type")
    }
}
