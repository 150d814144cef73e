/// What `chat` keeps between runs: the session of the logged-in user.
public struct ClientConfiguration: Sendable, Hashable, Codable {
    public var username: String?
    public var token: String?

    public init(username: String? = nil, token: String? = nil) {
        self.username = username
        self.token = token
    }
}
