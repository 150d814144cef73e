import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Changes a request after the generated code built it, to send what the typed API cannot.
struct RequestRewrite: ClientMiddleware {
    let change: @Sendable (inout HTTPRequest, inout HTTPBody?) -> Void

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        var body = body
        change(&request, &body)
        return try await next(request, body, baseURL)
    }

    /// Sends the body unchanged but declared as `contentType`, or with no `Content-Type` at all.
    static func contentType(_ contentType: String?) -> RequestRewrite {
        RequestRewrite { request, _ in request.headerFields[.contentType] = contentType }
    }

    /// Replaces the body with `bytes`, declared as JSON.
    static func body(_ bytes: [UInt8], contentType: String? = "application/json") -> RequestRewrite {
        RequestRewrite { request, body in
            body = HTTPBody(bytes)
            request.headerFields[.contentType] = contentType
            request.headerFields[.contentLength] = String(bytes.count)
        }
    }

    /// Keeps the body's JSON but pads it with `count` spaces, which is still valid JSON.
    static func paddedBody(_ json: String, spaces count: Int) -> RequestRewrite {
        body(Array((json + String(repeating: " ", count: count)).utf8))
    }

    /// Replaces the query string with `query`, sent as is (so it may be malformed).
    static func query(_ query: String) -> RequestRewrite {
        RequestRewrite { request, _ in
            let path = request.path ?? "/"
            let withoutQuery = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            request.path = "\(withoutQuery)?\(query)"
        }
    }

    /// Sets the header `name` to `value`, replacing whatever the generated code sent.
    static func header(_ name: String, _ value: String) -> RequestRewrite {
        RequestRewrite { request, _ in request.headerFields[HTTPField.Name(name)!] = value }
    }
}
