import Foundation
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// Adds `Authorization: Bearer <token>`: the generated client leaves security schemes to us.
struct BearerTokenMiddleware: ClientMiddleware {
    let token: String

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(token)"
        return try await next(request, body, baseURL)
    }
}

/// One request and its response, as they went over the wire.
struct Exchange: Sendable {
    var operationID: String
    var method: String
    var path: String
    var status: Int
    var contentType: String?
    var body: Data
}

/// Every exchange of one connection, in order.
final class ExchangeLog: Sendable {
    private let exchanges = Mutex<[Exchange]>([])

    func append(_ exchange: Exchange) {
        exchanges.withLock { $0.append(exchange) }
    }

    var all: [Exchange] { exchanges.withLock { $0 } }

    func last(_ operationID: String) -> Exchange? {
        exchanges.withLock { $0.last { $0.operationID == operationID } }
    }
}

/// Records each exchange, reading the whole response body (the largest one here is `/metrics`).
struct ExchangeRecorder: ClientMiddleware {
    static let responseSizeMaximum = 16 * 1024 * 1024
    let log: ExchangeLog

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let (response, responseBody) = try await next(request, body, baseURL)
        var data = Data()
        if let responseBody { data = try await Data(collecting: responseBody, upTo: Self.responseSizeMaximum) }
        log.append(Exchange(
            operationID: operationID, method: request.method.rawValue, path: request.path ?? "",
            status: response.status.code, contentType: response.headerFields[.contentType], body: data))
        return (response, responseBody == nil ? nil : HTTPBody(data))
    }
}

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
