/// A message in a recipient's inbox.
public struct Message: Sendable, Hashable, Codable {
    /// A UUID the server gave the message.
    public var id: String
    /// The message's position in the recipient's inbox, from 1.
    public var sequenceNumber: Int64
    public var sender: String
    public var recipient: String
    public var body: String
    /// When the message was sent, as RFC 3339 text in UTC.
    public var sentAt: String

    public init(id: String, sequenceNumber: Int64, sender: String, recipient: String, body: String, sentAt: String) {
        self.id = id
        self.sequenceNumber = sequenceNumber
        self.sender = sender
        self.recipient = recipient
        self.body = body
        self.sentAt = sentAt
    }

    /// The line `chat listen` prints: `[sent_at] from: body`.
    public var displayLine: String {
        "[\(sentAt)] \(sender): \(body)"
    }

    enum CodingKeys: String, CodingKey {
        case id
        case sequenceNumber = "seq"
        case sender = "from"
        case recipient = "to"
        case body
        case sentAt = "sent_at"
    }
}
