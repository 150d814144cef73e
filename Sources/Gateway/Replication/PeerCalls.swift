import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// HTTP calls a replica makes to its peers outside Raft: asking whether they hold a cluster,
/// asking to join one, to be promoted (`call`, blocking, following a 307 to the leader), and
/// whether this replica is still a member (`get`, without blocking a thread). Every call
/// carries the cluster secret.
struct PeerCalls: Sendable {
    struct Answer: Sendable {
        var status: Int
        var body: [UInt8]

        func json() -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        }

        /// The `error` object of an error answer.
        var error: [String: Any]? { json()?["error"] as? [String: Any] }
        var errorCode: String? { error?["code"] as? String }

        /// `status 503 no_leader`, for the operator watching a replica wait.
        var summary: String { "status \(status)\(errorCode.map { " \($0)" } ?? "")" }
    }

    /// Why a call to `url` got no usable answer: its status, or else its failure.
    func summary(of answer: Answer?, from url: String) -> String {
        answer?.summary ?? failures.last(for: url) ?? "no answer"
    }

    let secret: String
    let client: HTTPClient
    /// Why the last call to each URL reached no answer, for the operator's wait messages.
    let failures = PeerCallFailures()

    init(secret: String, tls: TLSConfiguration? = nil) {
        self.secret = secret
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .milliseconds(500), read: .seconds(10)))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.usePeerTLS(tls)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() { try? client.syncShutdown() }

    /// POSTs a JSON body without blocking a thread; the status, or nil when the peer cannot
    /// be reached. Redirects are not followed: the caller asks the leader it knows again later.
    func post(json: [String: Any], to url: String) async -> Int? {
        guard let data = try? JSONSerialization.data(withJSONObject: json) else { return nil }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: PeerTransport.secretHeader, value: secret)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: data))
        guard let response = try? await client.execute(request, timeout: .seconds(10)) else { return nil }
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return Int(response.status.code)
    }

    /// GETs `url` without blocking a thread (a redirect is not followed); nil when the peer
    /// cannot be reached or answers more than `limit` bytes.
    func get(_ url: String, limit: Int = 256 * 1024) async -> Answer? {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: PeerTransport.secretHeader, value: secret)
        do {
            let response = try await client.execute(request, timeout: .seconds(5))
            let body = try await response.body.collect(upTo: limit)
            return Answer(status: Int(response.status.code), body: Array(body.readableBytesView))
        } catch {
            failures.record(url, PeerCallFailures.reason(error))
            return nil
        }
    }

    /// Sends `method url` with an optional JSON body; nil when the peer cannot be reached.
    func call(_ method: HTTPMethod, _ url: String, json: [String: Any]? = nil, redirects: Int = 3) -> Answer? {
        guard var request = try? HTTPClient.Request(url: url, method: method) else { return nil }
        request.headers.add(name: PeerTransport.secretHeader, value: secret)
        if let json, let data = try? JSONSerialization.data(withJSONObject: json) {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(Array(data))
        }
        let response: HTTPClient.Response
        do {
            response = try client.execute(request: request, deadline: .now() + .seconds(10)).wait()
        } catch {
            failures.record(url, PeerCallFailures.reason(error))
            return nil
        }
        let body = response.body.map { Array($0.readableBytesView) } ?? []
        if response.status.code == 307, redirects > 0, let location = response.headers.first(name: "Location") {
            return call(method, location, json: json, redirects: redirects - 1)
        }
        return Answer(status: Int(response.status.code), body: body)
    }
}

/// The last error of a call to each URL (a refused connection, a TLS handshake that failed).
final class PeerCallFailures: Sendable {
    private let byURL = Mutex<[String: String]>([:])

    /// What an operator reads: "connection refused", not NIO's "connection reset (error set):
    /// Connection refused (errno: 111)".
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return "\(error)"
    }

    func record(_ url: String, _ description: String) { byURL.withLock { $0[url] = description } }

    func last(for url: String) -> String? { byURL.withLock { $0[url] } }
}
