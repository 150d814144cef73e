import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ReplicaCore
import Synchronization

/// Sends Raft messages to the other replicas over HTTP with keep-alive connections: one
/// request in flight per peer, and whatever queued up meanwhile goes in the next request,
/// in order. Raft tolerates lost messages, so a failed request is dropped, not retried.
final class PeerTransport: Sendable {
    static let path = "/internal/raft/messages"
    static let secretHeader = "X-Chat-Cluster-Secret"

    private let links: [NodeID: PeerLink]
    private let client: HTTPClient?

    init(peers: [PeerAddress], selfID: Int, secret: String, logger: Logger, onUnreachable: @escaping @Sendable (NodeID) -> Void) {
        guard peers.contains(where: { $0.id != selfID }) else {
            links = [:]
            client = nil
            return
        }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(500), read: .seconds(5)),
            connectionPool: .init(idleTimeout: .seconds(60)))
        // A dead peer must be reported to Raft at once, not after retries until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var links: [NodeID: PeerLink] = [:]
        for peer in peers where peer.id != selfID {
            let id = NodeID(UInt64(peer.id))
            links[id] = PeerLink(
                url: peer.url + Self.path, secret: secret, client: client, logger: logger,
                onFailure: { onUnreachable(id) })
        }
        self.links = links
        self.client = client
    }

    func shutdown() {
        try? client?.syncShutdown()
    }

    func send(_ messages: [RaftMessage]) {
        var byPeer: [NodeID: [RaftMessage]] = [:]
        for message in messages { byPeer[message.to, default: []].append(message) }
        for (peer, batch) in byPeer { links[peer]?.enqueue(batch) }
    }
}

/// The outgoing queue to one peer.
final class PeerLink: Sendable {
    static let maxQueuedMessages = 4096
    /// Payload bytes in one request, well under the receiver's internal body limit even
    /// after base64 (Raft bounds a single message's entries and snapshot chunks to about 1 MiB).
    static let maxPayloadBytesPerRequest = 8 * 1024 * 1024

    let url: String
    let secret: String
    let client: HTTPClient
    let logger: Logger
    let onFailure: @Sendable () -> Void
    private let state = Mutex<(queue: [RaftMessage], isSending: Bool)>(([], false))

    init(url: String, secret: String, client: HTTPClient, logger: Logger, onFailure: @escaping @Sendable () -> Void) {
        self.url = url
        self.secret = secret
        self.client = client
        self.logger = logger
        self.onFailure = onFailure
    }

    func enqueue(_ messages: [RaftMessage]) {
        let startSending = state.withLock { state -> Bool in
            state.queue.append(contentsOf: messages)
            if state.queue.count > Self.maxQueuedMessages {
                state.queue.removeFirst(state.queue.count - Self.maxQueuedMessages)
            }
            guard !state.isSending else { return false }
            state.isSending = true
            return true
        }
        if startSending { Task { await drain() } }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [RaftMessage] in
                if state.queue.isEmpty { state.isSending = false }
                let count = Self.countFitting(state.queue)
                defer { state.queue.removeFirst(count) }
                return Array(state.queue.prefix(count))
            }
            guard !batch.isEmpty else { return }
            do {
                try await post(batch)
            } catch PeerTransportError.refused(let status) {
                // The peer is up but refuses our messages (wrong secret, a body too large):
                // an operator must hear of it, unlike an unreachable peer.
                logger.warning("\(url) refused Raft messages with status \(status)")
                onFailure()
                try? await Task.sleep(for: .milliseconds(200))
            } catch {
                logger.debug("sending to \(url) failed", metadata: ["error": "\(error)"])
                onFailure()
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// How many queued messages go in the next request: at least one, then as many as fit.
    static func countFitting(_ queue: [RaftMessage]) -> Int {
        var bytes = 0
        for (position, message) in queue.enumerated() {
            bytes += payloadBytes(message)
            if position > 0 && bytes > maxPayloadBytesPerRequest { return position }
        }
        return queue.count
    }

    static func payloadBytes(_ message: RaftMessage) -> Int {
        switch message.kind {
        case .append(let append): append.entries.reduce(64) { $0 + $1.byteCount }
        case .snapshotChunk(let chunk): 64 + chunk.data.count
        default: 64
        }
    }

    private func post(_ batch: [RaftMessage]) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: PeerTransport.secretHeader, value: secret)
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(batch)))
        let response = try await client.execute(request, timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard response.status == .noContent else { throw PeerTransportError.refused(Int(response.status.code)) }
    }
}

enum PeerTransportError: Error {
    case refused(Int)
}

/// Answers `POST /internal/raft/messages` from other replicas: checks the cluster secret,
/// decodes the batch and hands it to the driver.
struct InternalRaftAPI: HTTPRequestHandler {
    let secret: String
    let deliver: @Sendable ([RaftMessage]) -> Void

    func handle(_ request: HTTPRequest) -> HTTPReply {
        guard request.path == PeerTransport.path else { return .error(.notFound) }
        guard request.method == "POST" else { return .error(.methodNotAllowed(allowed: ["POST"])) }
        guard let given = request.header(PeerTransport.secretHeader), Self.constantTimeEquals(given, secret) else {
            return .error(APIError(status: 401, code: "unauthorized", message: "The cluster secret is missing or wrong."))
        }
        guard let messages = try? JSONDecoder().decode([RaftMessage].self, from: Data(request.body)) else {
            return .error(.invalidJSON("The body is not a list of Raft messages."))
        }
        deliver(messages)
        return .now(HTTPResponse(status: 204))
    }

    static func constantTimeEquals(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8)
        let b = Array(right.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
