import AsyncHTTPClient
import NIOSSL
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Carries out a write that reached a follower with `Prefer: forward` (RFC 7240) through the
/// leader, for clients that drop credentials when a redirect crosses origins (httpx,
/// requests, `curl -L`, browsers).
///
/// The follower proxies the HTTP request to the leader over a pooled connection and relays
/// the answer, rather than forwarding a proposal through Raft. The leader then does exactly
/// what it does for a direct request (authentication, validation, idempotency keys, the
/// answer's body), so the two paths cannot drift apart, and ReplicaCore stays unchanged.
/// The price is one more hop on the network, which a Raft-level forward pays too.
///
/// A forwarded request is marked, and a replica never forwards a marked request again: if
/// leadership moved meanwhile, the old leader answers 307, which becomes 503 `no_leader`
/// with `Retry-After` here. Nothing waits longer than the write timeout plus a margin.
struct WriteForwarder: Sendable {
    static let forwardedByHeader = "X-Chat-Forwarded-By"
    static let preferenceApplied = ("Preference-Applied", "forward")

    /// The request headers the leader acts on; the others say nothing it would use.
    static let relayedRequestHeaders: Set<String> = ["authorization", "content-type", "idempotency-key"]

    /// Headers of the leader's answer that describe one connection, and are not relayed.
    static let hopByHopHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length", "expect", "date", "server",
    ]

    let replicaID: Int
    let client: HTTPClient
    let timeout: Duration

    init(replicaID: Int, writeTimeout: Duration, tls: TLSConfiguration? = nil, connectTimeout: Duration = .seconds(1)) {
        self.replicaID = replicaID
        timeout = writeTimeout + .seconds(2)
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.timeout = .init(connect: .init(connectTimeout))
        // A refused connection must surface at once, not after a second of retries: it proves
        // nothing was written, and the next leader may already be known.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.usePeerTLS(tls)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() { try? client.syncShutdown() }

    /// Whether the request asks for forwarding: `forward` among its `Prefer` preferences.
    static func prefersForward(_ request: HTTPRequest) -> Bool {
        guard let prefer = request.header("Prefer") else { return false }
        return prefer.split(separator: ",").contains { preference in
            let token = preference.split(whereSeparator: { $0 == ";" || $0 == "=" }).first ?? ""
            return token.trimmingCharacters(in: .whitespaces).lowercased() == "forward"
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control && scalar != "\t"
    }

    /// What forwarding once gave.
    enum Relay: Sendable {
        /// The leader's answer.
        case answered(HTTPResponse)
        /// The connection failed or timed out after the request may have left: the write may
        /// have been made. The 503 to give.
        case unanswered(HTTPResponse)
        /// The leader could not be reached, or answered that it no longer leads: the write was
        /// not made and may go to the next leader. The 503 to give if none comes.
        case unreachable(HTTPResponse)
    }

    /// Sends `request` on to `leader` and relays its answer, waiting until `deadline` at most.
    func forward(_ request: HTTPRequest, to leader: PeerAddress, until deadline: ContinuousClock.Instant) async -> Relay {
        var outgoing = HTTPClientRequest(url: leader.url + request.pathAndQuery)
        outgoing.method = HTTPMethod(rawValue: request.method)
        // A value with a control character cannot be sent on (HTTP forbids it, and the client
        // refuses it). The leader answers a missing Authorization or Content-Type as it would
        // the bad one (401, 415); the key of a send was checked before forwarding.
        for (name, value) in request.headers
        where Self.relayedRequestHeaders.contains(name) && !value.unicodeScalars.contains(where: Self.isControl) {
            outgoing.headers.add(name: name, value: value)
        }
        outgoing.headers.replaceOrAdd(name: Self.forwardedByHeader, value: String(replicaID))
        if !request.body.isEmpty { outgoing.body = .bytes(ByteBuffer(bytes: request.body)) }
        let left = deadline - .now
        let milliseconds = max(1, Int64(left.components.seconds) * 1_000 + left.components.attoseconds / 1_000_000_000_000_000)
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await client.execute(outgoing, timeout: .milliseconds(milliseconds))
            body = try await Self.collect(response.body, until: deadline)
        } catch {
            guard !Self.neverConnected(error) else {
                let refusal = APIError.unavailable("The leader (replica \(leader.id)) could not be reached; nothing was written. Retry shortly.")
                return .unreachable(refusal.response)
            }
            return .unanswered(APIError.unconfirmedWrite("The leader (replica \(leader.id)) did not answer this write", request: request).response)
        }
        // No longer the leader: it made nothing of the request, so the next leader may.
        guard response.status.code != 307 else { return .unreachable(APIError.noLeader.response) }
        var bytes = Array(body.readableBytesView)
        if response.status.code >= 500 { bytes = Self.attributed(bytes, to: leader) }
        var relayed = HTTPResponse(status: Int(response.status.code), body: bytes)
        // The leader marks its own answer as having applied the preference; this replica does.
        for header in response.headers
        where !Self.hopByHopHeaders.contains(header.name.lowercased()) && header.name.lowercased() != "preference-applied" {
            relayed.headers.append((header.name, header.value))
        }
        return .answered(relayed)
    }

    /// The answer's body, by `deadline`. AsyncHTTPClient's own deadline ends with the answer's
    /// head: a leader paused between head and body would otherwise hold the write for ever.
    static func collect(_ body: HTTPClientResponse.Body, until deadline: ContinuousClock.Instant) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await body.collect(upTo: 1 << 20) }
            group.addTask {
                try await Task.sleep(until: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else { throw HTTPClientError.deadlineExceeded }
            return buffer
        }
    }

    /// Whether `error` says no connection to the leader was made, so no byte of the request left.
    static func neverConnected(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError: error == .connectTimeout
        case let error as IOError: error.errnoCode == ECONNREFUSED || error.errnoCode == EHOSTUNREACH || error.errnoCode == ENETUNREACH
        case let error as NIOConnectionError: error.connectionErrors.allSatisfy { neverConnected($0.error) }
        default: false
        }
    }

    /// The leader's error, its message saying whose it is: "this replica's disk is full" or
    /// "the replica is shutting down" must not read as the forwarding replica's own state.
    /// A body that is not the API's error envelope is relayed as it came.
    static func attributed(_ body: [UInt8], to leader: PeerAddress) -> [UInt8] {
        guard var envelope = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            var error = envelope["error"] as? [String: Any], let message = error["message"] as? String
        else { return body }
        error["message"] = "The leader (replica \(leader.id)) answered: \(message)"
        envelope["error"] = error
        guard let data = try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys]) else { return body }
        return Array(data)
    }
}
