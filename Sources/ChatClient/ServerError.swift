/// An error the chat API answered with: `{"error": {"code", "message", "leader"?}}`.
public struct ServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status of the response.
    public var status: Int
    /// The stable snake_case code, such as `username_taken`.
    public var code: String
    /// The server's human-readable sentence.
    public var message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String {
        message
    }
}
