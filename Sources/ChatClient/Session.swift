/// A logged-in session: the bearer token and whose it is.
public struct Session: Sendable, Hashable, Codable {
    public var token: String
    public var username: String

    public init(token: String, username: String) {
        self.token = token
        self.username = username
    }
}
