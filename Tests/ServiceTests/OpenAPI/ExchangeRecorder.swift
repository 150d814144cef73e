import Foundation
import HTTPTypes
import OpenAPIRuntime
import Synchronization

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
        OperationRecorder.current?.record(operationID)
        let (response, responseBody) = try await next(request, body, baseURL)
        var data = Data()
        if let responseBody { data = try await Data(collecting: responseBody, upTo: Self.responseSizeMaximum) }
        log.append(Exchange(
            operationID: operationID, method: request.method.rawValue, path: request.path ?? "",
            status: response.status.code, contentType: response.headerFields[.contentType], body: data))
        return (response, responseBody == nil ? nil : HTTPBody(data))
    }
}

/// The operations called through any ``OpenAPIConnection`` in a task, for the coverage test.
final class OperationRecorder: Sendable {
    @TaskLocal static var current: OperationRecorder?
    private let recorded = Mutex<[String]>([])

    func record(_ operationID: String) {
        recorded.withLock { $0.append(operationID) }
    }

    var operationIDs: [String] { recorded.withLock { $0 } }
}
