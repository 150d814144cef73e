/// One answer of `GET /v1/inbox`.
public struct Inbox: Sendable, Hashable, Codable {
    public var messages: [Message]
    /// The `after` to pass to the next read.
    public var nextAfter: Int64

    public init(messages: [Message], nextAfter: Int64) {
        self.messages = messages
        self.nextAfter = nextAfter
    }

    enum CodingKeys: String, CodingKey {
        case messages
        case nextAfter = "next_after"
    }
}
