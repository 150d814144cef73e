import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// One HTTP answer, fully read.
struct Reply: Sendable {
    var status: Int
    var body: [UInt8]
    var location: String?

    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}

/// A keep-alive HTTP/1.1 client over AsyncHTTPClient that never follows redirects itself:
/// the load generators count and follow `307` answers on their own.
final class BenchHTTP: Sendable {
    let client: HTTPClient

    init(connections: Int) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: nil),
            connectionPool: .init(idleTimeout: .seconds(300), concurrentHTTP1ConnectionsPerHostSoftLimit: connections))
        configuration.httpVersion = .http1Only
        // A refused connection must fail at once: otherwise AsyncHTTPClient keeps retrying the
        // connect until the request's deadline, and failover would measure the client's backoff.
        configuration.connectionPool.retryConnectionEstablishment = false
        // https replicas are verified against the CA in CHAT_CACERT, as with `chat`.
        if let caFile = ProcessInfo.processInfo.environment["CHAT_CACERT"], !caFile.isEmpty,
            let authority = try? NIOSSLCertificate.fromPEMFile(caFile)
        {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(authority)
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    func get(_ url: String, token: String? = nil, timeoutMilliseconds: Int64 = 10_000) async throws -> Reply {
        try await perform(isPost: false, url: url, body: nil, token: token, timeoutMilliseconds: timeoutMilliseconds)
    }

    func post(_ url: String, json: [String: Any], token: String? = nil, timeoutMilliseconds: Int64 = 10_000) async throws -> Reply {
        let body = try JSONSerialization.data(withJSONObject: json)
        return try await perform(isPost: true, url: url, body: Array(body), token: token, timeoutMilliseconds: timeoutMilliseconds)
    }

    func post(_ url: String, bytes: [UInt8], token: String?, timeoutMilliseconds: Int64) async throws -> Reply {
        try await perform(isPost: true, url: url, body: bytes, token: token, timeoutMilliseconds: timeoutMilliseconds)
    }

    private func perform(
        isPost: Bool, url: String, body: [UInt8]?, token: String?, timeoutMilliseconds: Int64
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = isPost ? .POST : .GET
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await client.execute(request, timeout: .milliseconds(timeoutMilliseconds))
        let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(
            status: Int(response.status.code), body: Array(buffer.readableBytesView),
            location: response.headers.first(name: "Location"))
    }

    /// Sends a write, following `307` to the leader and retrying `503` until `attempts` run out.
    func write(_ base: String, _ path: String, json: [String: Any], token: String? = nil) async throws -> Reply {
        var url = base + path
        for _ in 0..<200 {
            let reply: Reply
            do {
                reply = try await post(url, json: json, token: token)
            } catch {
                await MonotonicClock.sleep(milliseconds: 50)
                continue
            }
            if reply.status == 307, let location = reply.location {
                url = location
                continue
            }
            if reply.status == 503 {
                await MonotonicClock.sleep(milliseconds: 50)
                continue
            }
            return reply
        }
        throw BenchFailure("POST \(path) at \(base) kept failing")
    }
}

/// `http://host:port` of a full URL such as a `Location` header.
func baseURL(of url: String) -> String? {
    guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
        return nil
    }
    return components.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
}
