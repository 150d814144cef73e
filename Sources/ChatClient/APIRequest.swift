import Foundation

/// A request to the chat API, independent of which replica will answer it.
///
/// ``FailoverClient`` sends the same value, unchanged, to every replica it
/// tries, so headers such as `Idempotency-Key` stay the same across retries.
public struct APIRequest: Sendable, Hashable {
    public var method: RequestMethod
    /// The path from the root of a replica, starting with `/`, already percent-encoded.
    public var path: String
    /// Query parameters in order; values are percent-encoded when the URL is built.
    public var query: [URLQueryItem]
    public var headers: [String: String]
    public var body: Data?
    /// How long the server was asked to hold the request open (a long poll's
    /// `wait`); it extends the time allowed for the request.
    public var serverWait: Duration

    public init(
        method: RequestMethod,
        path: String,
        query: [URLQueryItem] = [],
        headers: [String: String] = [:],
        body: Data? = nil,
        serverWait: Duration = .zero
    ) {
        precondition(path.hasPrefix("/"), "an API path starts with a slash")
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.serverWait = serverWait
    }

    /// The absolute URL of this request at the replica whose base URL is `replica`.
    public func url(at replica: URL) -> URL {
        var text = replica.absoluteString
        while text.hasSuffix("/") {
            text.removeLast()
        }
        text += path
        if !query.isEmpty {
            let pairs = query.map { "\(PercentEncoding.encode($0.name))=\(PercentEncoding.encode($0.value ?? ""))" }
            text += "?" + pairs.joined(separator: "&")
        }
        guard let url = URL(string: text) else {
            preconditionFailure("a replica URL joined with an encoded path is a URL: \(text)")
        }
        return url
    }
}
