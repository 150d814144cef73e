import Foundation
import Testing

/// `POST /v1/messages` through the generated client.
@Suite struct OpenAPIMessageTests {
    struct Pair {
        let sender: OpenAPIConnection
        let recipient: OpenAPIConnection
        let recipientName: String
    }

    static func pair() async throws -> Pair {
        let shared = try await OpenAPIConnection.shared()
        let alice = try await shared.registerUnique("snd")
        let bob = try await shared.registerUnique("rcv")
        return Pair(sender: shared.authenticated(as: alice), recipient: shared.authenticated(as: bob), recipientName: bob.username)
    }

    @Test func sendMessageAnswers201WithADocumentedMessage() async throws {
        let pair = try await Self.pair()
        let before = Date()
        let message = try await pair.sender.client.sendMessage(body: .json(.init(to: pair.recipientName, body: "héllo 👋")))
            .created.body.json
        #expect(message.seq == 1)
        #expect(message.to == pair.recipientName)
        #expect(message.body == "héllo 👋")
        #expect(UUID(uuidString: message.id) != nil, "id \(message.id) is not a UUID")
        #expect(abs(message.sent_at.timeIntervalSince(before)) < 60, "sent_at \(message.sent_at) is not now")
        try await pair.sender.expectOnlyDocumentedFields(of: message, from: "sendMessage")
    }

    @Test func sendMessageRepeatedWithTheSameIdempotencyKeyReturnsTheOriginal() async throws {
        let pair = try await Self.pair()
        let key = UUID().uuidString
        let first = try await pair.sender.client.sendMessage(
            headers: .init(Idempotency_hyphen_Key: key), body: .json(.init(to: pair.recipientName, body: "once"))
        ).created.body.json
        let again = try await pair.sender.client.sendMessage(
            headers: .init(Idempotency_hyphen_Key: key), body: .json(.init(to: pair.recipientName, body: "once"))
        ).created.body.json
        #expect(again == first)
        let inbox = try await pair.recipient.client.readInbox().ok.body.json
        #expect(inbox.messages.map(\.id) == [first.id])
    }

    @Test func sendMessageReusingAnIdempotencyKeyForAnotherBodyIs422IdempotencyKeyReused() async throws {
        let pair = try await Self.pair()
        let key = UUID().uuidString
        _ = try await pair.sender.client.sendMessage(
            headers: .init(Idempotency_hyphen_Key: key), body: .json(.init(to: pair.recipientName, body: "first"))
        ).created
        let output = try await pair.sender.client.sendMessage(
            headers: .init(Idempotency_hyphen_Key: key), body: .json(.init(to: pair.recipientName, body: "second")))
        expectError(try output.unprocessableContent.body.json, code: "idempotency_key_reused")
    }

    @Test func sendMessageWithAnEmptyBodyIs400InvalidBody() async throws {
        let pair = try await Self.pair()
        let output = try await pair.sender.client.sendMessage(body: .json(.init(to: pair.recipientName, body: "")))
        expectError(try output.badRequest.body.json, code: "invalid_body")
    }

    @Test func sendMessageWithABodyOver65536BytesIs400InvalidBody() async throws {
        let pair = try await Self.pair()
        let output = try await pair.sender.client.sendMessage(
            body: .json(.init(to: pair.recipientName, body: String(repeating: "é", count: 32_769))))
        expectError(try output.badRequest.body.json, code: "invalid_body")
    }

    @Test func sendMessageWithA129CharacterIdempotencyKeyIs400InvalidIdempotencyKey() async throws {
        let pair = try await Self.pair()
        let output = try await pair.sender.client.sendMessage(
            headers: .init(Idempotency_hyphen_Key: String(repeating: "k", count: 129)),
            body: .json(.init(to: pair.recipientName, body: "hi")))
        expectError(try output.badRequest.body.json, code: "invalid_idempotency_key")
    }

    @Test func sendMessageWithAWrongFieldTypeIs400InvalidRequest() async throws {
        let pair = try await Self.pair()
        let api = pair.sender.rewriting(.body(Array(#"{"to": 5, "body": "hi"}"#.utf8)))
        let output = try await api.client.sendMessage(body: .json(.init(to: pair.recipientName, body: "hi")))
        expectError(try output.badRequest.body.json, code: "invalid_request")
    }

    @Test func sendMessageToAnUnknownUserIs404NoSuchUser() async throws {
        let pair = try await Self.pair()
        let output = try await pair.sender.client.sendMessage(body: .json(.init(to: uniqueName("ghost"), body: "hi")))
        expectError(try output.notFound.body.json, code: "no_such_user")
    }

    @Test func sendMessageWithoutATokenIs401() async throws {
        let api = try await OpenAPIConnection.shared()
        let output = try await api.client.sendMessage(body: .json(.init(to: uniqueName("x"), body: "hi")))
        expectError(try output.unauthorized.body.json, code: "unauthorized")
    }

    @Test func sendMessageOver256KiBIs413PayloadTooLarge() async throws {
        let pair = try await Self.pair()
        let output = try await pair.sender.client.sendMessage(
            body: .json(.init(to: pair.recipientName, body: OpenAPIAccountTests.bodyOver256KiB)))
        expectError(try output.contentTooLarge.body.json, code: "payload_too_large")
        #expect(try await pair.recipient.client.readInbox().ok.body.json.messages.isEmpty)
    }

    @Test func sendMessageDeclaredAsFormDataIs415UnsupportedMediaType() async throws {
        let pair = try await Self.pair()
        let api = pair.sender.rewriting(.contentType("application/x-www-form-urlencoded"))
        let output = try await api.client.sendMessage(body: .json(.init(to: pair.recipientName, body: "hi")))
        expectError(try output.unsupportedMediaType.body.json, code: "unsupported_media_type")
    }
}
