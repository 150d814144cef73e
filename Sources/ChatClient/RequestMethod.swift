/// The HTTP methods the chat API uses.
public enum RequestMethod: String, Sendable, Hashable {
    case get = "GET"
    case post = "POST"
    case delete = "DELETE"
}
