/// A registered account.
public struct Account: Sendable, Hashable, Codable {
    public var username: String
    /// When the account was created, as RFC 3339 text in UTC.
    public var createdAt: String

    public init(username: String, createdAt: String) {
        self.username = username
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case username
        case createdAt = "created_at"
    }
}
