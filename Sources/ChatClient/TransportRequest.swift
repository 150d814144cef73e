import Foundation

/// One HTTP request to one replica, as a transport sends it.
public struct TransportRequest: Sendable, Hashable {
    public var method: RequestMethod
    /// The absolute URL, path and query included.
    public var url: URL
    /// Header fields by name; names are compared case-insensitively by servers.
    public var headers: [String: String]
    public var body: Data?

    public init(method: RequestMethod, url: URL, headers: [String: String] = [:], body: Data? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}
