import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small HTTP client for tests: never follows redirects, so 307s can be asserted.
struct TestClient: Sendable {
    static let shared = TestClient(client: TestClient.client)
    /// For storms of simultaneous connections (1,000 long-polls at once on 2 cores), where a
    /// connect may legitimately wait in the listen queue: long timeout, retries allowed.
    static let patient = TestClient(client: TestClient.patientClient)

    let client: HTTPClient

    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(500), read: .seconds(90)),
            connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 2000))
        // By default AHC keeps retrying a refused connection until the connect timeout; a test
        // must see a dead replica at once.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.tlsConfiguration = TestCertificates.main.clientTLS()
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    static let patientClient = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(
            tlsConfiguration: TestCertificates.main.clientTLS(),
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(90)),
            connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 2000)))

    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        }

        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func request(
        _ method: HTTPMethod, _ url: String, token: String? = nil, json: Any? = nil, rawBody: [UInt8]? = nil,
        headers: [(String, String)] = [], contentType: String? = "application/json", timeout: TimeAmount = .seconds(90)
    ) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        var body = rawBody
        if let json { body = Array(try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed])) }
        if let body {
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: timeout)
        let collected = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Response(status: Int(response.status.code), headers: response.headers, body: Data(collected.readableBytesView))
    }

    func get(_ url: String, token: String? = nil) async throws -> Response {
        try await request(.GET, url, token: token)
    }
}
