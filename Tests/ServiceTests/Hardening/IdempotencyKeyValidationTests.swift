import Foundation
import Testing

/// An Idempotency-Key that cannot be honoured is refused, never silently ignored: a send that
/// went through without deduplication could be delivered twice when the client retries.
@Suite struct IdempotencyKeyValidationTests {
    static let badKeys: [(name: String, bytes: [UInt8])] = [
        ("not UTF-8", [0x6B, 0xC3, 0x28, 0x79]),
        ("a lone continuation byte", [0x80]),
        ("a tab", Array("key\twith\ttabs".utf8)),
        ("a DEL", [0x6B, 0x7F]),
        ("129 characters", Array(String(repeating: "k", count: 129).utf8)),
    ]

    @Test(arguments: 0..<badKeys.count)
    func aKeyThatIsNotPlainTextIs400AndSendsNothing(_ index: Int) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("idem"), at: base)
        let body = Array("{\"to\":\"\(alice.username)\",\"body\":\"hello\"}".utf8)
        let head = "POST /v1/messages HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(alice.token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nIdempotency-Key: "
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        connection.send(Array(head.utf8) + Self.badKeys[index].bytes + Array("\r\n\r\n".utf8) + body)
        let status = connection.readStatus()
        #expect(status == 400, "a key with \(Self.badKeys[index].name) answered \(status.map(String.init) ?? "nothing")")
        #expect(try await alice.inbox().messages.isEmpty, "nothing was sent")
    }
}
