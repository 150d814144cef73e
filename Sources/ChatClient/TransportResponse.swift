import Foundation

/// One HTTP response as a transport received it.
public struct TransportResponse: Sendable, Hashable {
    public var status: Int
    /// Header fields by lowercased name.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        var lowercased: [String: String] = [:]
        for (name, value) in headers {
            lowercased[name.lowercased()] = value
        }
        self.headers = lowercased
        self.body = body
    }

    /// The value of the header field with this name, compared case-insensitively.
    public func header(named name: String) -> String? {
        headers[name.lowercased()]
    }
}
