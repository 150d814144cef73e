import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ReplicaCore
import Synchronization

/// Sends Raft messages to the other replicas over HTTP with keep-alive connections: one
/// request in flight per peer, and whatever queued up meanwhile goes in the next request,
/// in order. Raft tolerates lost messages, so a failed request is dropped, not retried.
///
/// The receiver answers a batch with its own replies to it (append and heartbeat answers),
/// once it has handled and persisted it, so replies need no request of their own: half the
/// peer requests, and a follower's answers never wait behind its own queue.
final class PeerTransport: Sendable {
    static let path = "/internal/raft/messages"
    static let stateFilePath = "/internal/raft/state-file"
    static let secretHeader = "X-Chat-Cluster-Secret"

    /// Every call names the sender's cluster; a replica of another cluster refuses it.
    static let clusterIDHeader = "X-Chat-Cluster-Id"

    private let links = Mutex<[NodeID: PeerLink]>([:])
    /// One thread for every peer's connection: the appends one Ready sends to all followers go
    /// out in one wake-up of one thread, and their answers come back on it (issue 13).
    private let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let client: HTTPClient
    private let selfID: Int
    private let secret: String
    private let tls: TLSConfiguration?
    private let stateFiles: OutgoingStateFiles
    private let logger: Logger
    private let deliver: PeerLink.Deliver
    private let onUnreachable: @Sendable (NodeID) -> Void

    /// Sends to nobody until `update(addresses:clusterID:)` names the members.
    init(
        selfID: Int, secret: String, tls: TLSConfiguration? = nil, stateFiles: OutgoingStateFiles, logger: Logger,
        deliver: @escaping PeerLink.Deliver, onUnreachable: @escaping @Sendable (NodeID) -> Void
    ) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(500), read: .seconds(5)),
            connectionPool: .init(idleTimeout: .seconds(60)))
        // A dead peer must be reported to Raft at once, not after retries until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.usePeerTLS(tls)
        client = HTTPClient(eventLoopGroupProvider: .shared(eventLoops), configuration: configuration)
        self.selfID = selfID
        self.secret = secret
        self.tls = tls
        self.stateFiles = stateFiles
        self.logger = logger
        self.deliver = deliver
        self.onUnreachable = onUnreachable
    }

    /// Brings the links in line with the configuration's members and their addresses: a new
    /// member gets a link, a removed one loses it, a moved one gets a new link.
    func update(addresses: [NodeID: String], clusterID: String) {
        links.withLock { links in
            for (id, url) in addresses where id.rawValue != UInt64(selfID) && links[id]?.baseURL != url {
                links[id]?.close()
                links[id] = PeerLink(
                    baseURL: url, secret: secret, clusterID: clusterID, client: client, tls: tls,
                    eventLoop: eventLoops.next(), stateFiles: stateFiles,
                    logger: logger, deliver: deliver, onFailure: { [onUnreachable] in onUnreachable(id) })
            }
            for id in links.keys where addresses[id] == nil {
                links[id]?.close()
                links[id] = nil
            }
        }
    }

    func shutdown() {
        // Links first: a request failing as the client shuts down must not schedule a retry
        // on the event loop that shuts down next.
        links.withLock { links in
            for link in links.values { link.close() }
        }
        try? client.syncShutdown()
        try? eventLoops.syncShutdownGracefully()
    }

    /// The answer to a batch: the receiver's replies to its sender.
    static func replyResponse(_ messages: [RaftMessage]) -> HTTPResponse {
        HTTPResponse(
            status: 200, headers: [("Content-Type", RaftWireCodec.contentType)], body: RaftWireCodec.encode(messages))
    }

    func send(_ messages: [RaftMessage]) {
        var byPeer: [NodeID: [RaftMessage]] = [:]
        for message in messages { byPeer[message.to, default: []].append(message) }
        let links = links.withLock { $0 }
        for (peer, batch) in byPeer { links[peer]?.enqueue(batch) }
    }
}

/// The outgoing queue to one peer.
///
/// A snapshot message waits while the state file it stands for is copied and uploaded in
/// pieces beside the queue (heartbeats keep flowing meanwhile, so the follower does not start
/// an election); it is sent once the follower holds the whole file.
final class PeerLink: Sendable {
    /// Hands a peer's replies to the driver with `resume`, which the driver calls once it has
    /// handled them and sent what they caused.
    typealias Deliver = @Sendable (_ replies: [RaftMessage], _ resume: @escaping @Sendable () -> Void) -> Void

    static let maxQueuedMessages = 4096
    /// Payload bytes in one request, well under the receiver's internal body limit (Raft
    /// bounds a single message's entries to about 1 MiB).
    static let maxPayloadBytesPerRequest = 8 * 1024 * 1024
    static let stateFilePieceBytes = 4 * 1024 * 1024
    /// How long a delivered state file counts as still held by the follower: a repeated
    /// snapshot message within this time is sent without uploading the file again.
    static let stateFileReuseWindow = Duration.seconds(10)

    private struct State {
        var queue: [RaftMessage] = []
        var isSending = false
        var uploading: SnapshotMetadata?
        var uploaded: (metadata: SnapshotMetadata, at: ContinuousClock.Instant)?
        /// Since when the peer has not answered, if it has not; and when that was last logged.
        var unreachableSince: ContinuousClock.Instant?
        var unreachableLoggedAt: ContinuousClock.Instant?
        /// The last refusal logged, and when.
        var refusalLogged: (status: Int, at: ContinuousClock.Instant)?
        /// Closed (the member left, or the replica stops): nothing more is sent or scheduled.
        var isClosed = false
    }

    /// A peer that stays unreachable is logged again at most this often.
    static let unreachableLogInterval = Duration.seconds(60)

    let baseURL: String
    let url: String
    let secret: String
    let clusterID: String
    let client: HTTPClient
    let stateFiles: OutgoingStateFiles
    let logger: Logger
    let deliver: Deliver
    let onFailure: @Sendable () -> Void
    /// A peer's answer is collected up to this many bytes, like the requests a replica accepts
    /// from its peers (`HTTPServer.Configuration.maxInternalBodyBytes`); a larger one fails.
    let maxReplyBytes: Int
    /// Where the Raft messages go; nil when `baseURL` cannot be used (every send then fails).
    let connection: PeerConnection?
    private let state = Mutex(State())

    init(
        baseURL: String, secret: String, clusterID: String, client: HTTPClient, tls: TLSConfiguration? = nil,
        eventLoop: any EventLoop, stateFiles: OutgoingStateFiles, logger: Logger,
        deliver: @escaping Deliver, onFailure: @escaping @Sendable () -> Void,
        maxReplyBytes: Int = 64 * 1024 * 1024
    ) {
        self.maxReplyBytes = maxReplyBytes
        do {
            connection = try PeerConnection(
                url: baseURL + PeerTransport.path,
                headers: [
                    ("Content-Type", RaftWireCodec.contentType), (PeerTransport.secretHeader, secret),
                    (PeerTransport.clusterIDHeader, clusterID),
                ],
                tls: tls, eventLoop: eventLoop, maxAnswerBytes: maxReplyBytes)
        } catch {
            logger.error("cannot send Raft messages to \(baseURL): \(error)")
            connection = nil
        }
        self.baseURL = baseURL
        url = baseURL + PeerTransport.path
        self.secret = secret
        self.clusterID = clusterID
        self.client = client
        self.stateFiles = stateFiles
        self.logger = logger
        self.deliver = deliver
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
        if startSending { sendNext() }
    }

    /// Sends the next batch, and again from the request's completion until the queue is empty.
    /// Callbacks on the client's event loop, not tasks: at low load every hop between threads
    /// costs as much as the work it carries.
    private func sendNext() {
        while true {
            let (batch, upload, isDone) = state.withLock { state -> ([RaftMessage], RaftMessage?, Bool) in
                if state.queue.isEmpty || state.isClosed {
                    state.isSending = false
                    return ([], nil, true)
                }
                let count = Self.countFitting(state.queue)
                defer { state.queue.removeFirst(count) }
                var upload: RaftMessage?
                let batch = state.queue.prefix(count).filter { message in
                    guard case .snapshotChunk(let chunk) = message.kind else { return true }
                    if let uploaded = state.uploaded, uploaded.metadata == chunk.metadata,
                       ContinuousClock.now - uploaded.at < Self.stateFileReuseWindow {
                        return true
                    }
                    // Raft repeats a snapshot message it got no answer to; one upload at a time.
                    if state.uploading == nil {
                        state.uploading = chunk.metadata
                        upload = message
                    }
                    return false
                }
                return (batch, upload, false)
            }
            if isDone { return }
            if let upload { Task { await self.uploadStateFile(then: upload) } }
            guard !batch.isEmpty else { continue }
            post(batch).whenComplete { [self] result in
                guard case .failure(let error) = result else {
                    noteReachability(failure: nil)
                    // With replies, the queue waits until the driver has handled them: what they
                    // commit then goes out with it, not a whole round trip later (issue 13).
                    if case .success(true) = result { return }
                    return sendNext()
                }
                noteReachability(failure: error)
                let pause: TimeAmount
                if case PeerTransportError.refused(let status) = error {
                    noteRefusal(status)
                    pause = .milliseconds(200)
                } else {
                    logger.debug("sending to \(url) failed", metadata: ["error": "\(error)"])
                    pause = .milliseconds(20)
                }
                // A link closed at shutdown fails its last request; its event loop may be gone.
                guard !state.withLock({ $0.isClosed }) else { return }
                onFailure()
                client.eventLoopGroup.next().scheduleTask(in: pause) { self.sendNext() }
            }
            return
        }
    }

    /// A peer that is up but refuses our messages (wrong secret, another cluster, another
    /// replica at that URL) is a misconfiguration an operator must hear of, once, then again
    /// at most every `unreachableLogInterval`; a peer still starting (503) is not.
    private func noteRefusal(_ status: Int) {
        let now = ContinuousClock.now
        let isNews = state.withLock { state -> Bool in
            if let logged = state.refusalLogged, logged.status == status, now - logged.at < Self.unreachableLogInterval {
                return false
            }
            state.refusalLogged = (status, now)
            return true
        }
        switch status {
        case 503:
            logger.debug("\(url) is not ready for Raft messages yet (status 503)")
        case _ where !isNews:
            break
        case 409:
            logger.warning("\(url) refused Raft messages: it belongs to another cluster than \(clusterID)")
        case 421:
            logger.warning("\(baseURL) refused Raft messages: it is another replica; check the URL that member was added with")
        default:
            logger.warning("\(url) refused Raft messages with status \(status)")
        }
    }

    /// Logs a peer becoming unreachable (then at most once a minute while it stays so) and
    /// reachable again. A peer that refuses our messages is logged where the refusal is seen.
    private func noteReachability(failure: (any Error)?) {
        let now = ContinuousClock.now
        let (change, downFor) = state.withLock { state -> (Bool?, Duration?) in
            guard let failure, !(failure is PeerTransportError) else {
                guard let since = state.unreachableSince else { return (nil, nil) }
                state.unreachableSince = nil
                state.unreachableLoggedAt = nil
                return (false, now - since)
            }
            if state.unreachableSince == nil { state.unreachableSince = now }
            if let logged = state.unreachableLoggedAt, now - logged < Self.unreachableLogInterval { return (nil, nil) }
            state.unreachableLoggedAt = now
            return (true, now - state.unreachableSince!)
        }
        switch change {
        case true?:
            logger.warning("peer \(baseURL) is unreachable", metadata: ["error": "\(failure.map { "\($0)" } ?? "")", "for": "\(downFor ?? .zero)"])
        case false?:
            logger.notice("peer \(baseURL) is reachable again after \(downFor ?? .zero)")
        case nil:
            break
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

    /// Copies the state, uploads it to the follower in pieces, then sends `message`.
    private func uploadStateFile(then message: RaftMessage) async {
        guard case .snapshotChunk(let chunk) = message.kind else { return }
        do {
            let file = try await stateFiles.makeFile()
            defer { try? FileManager.default.removeItem(at: file) }
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            var hasher = SHA256()
            while let piece = try handle.read(upToCount: Self.stateFilePieceBytes), !piece.isEmpty {
                hasher.update(data: piece)
            }
            let total = Int(try handle.offset())
            let transfer = StateFileTransfer(
                metadata: chunk.metadata, id: String(UInt64.random(in: 0...UInt64.max), radix: 16), totalBytes: total,
                sha256: StateFileTransfer.hex(hasher.finalize()))
            try handle.seek(toOffset: 0)
            var offset = 0
            repeat {
                let piece = try handle.read(upToCount: Self.stateFilePieceBytes) ?? Data()
                guard !piece.isEmpty else { throw PeerTransportError.stateFileShrank }
                try await postPiece(piece, at: offset, of: transfer)
                offset += piece.count
            } while offset < total
            logger.info("sent a state file of \(total) bytes to \(baseURL) for the snapshot at index \(chunk.metadata.index)")
            state.withLock { state in
                state.uploading = nil
                state.uploaded = (chunk.metadata, ContinuousClock.now)
            }
            enqueue([message])
        } catch {
            logger.warning("sending a state file to \(baseURL) failed", metadata: ["error": "\(error)"])
            state.withLock { $0.uploading = nil }
        }
    }

    private func postPiece(_ piece: Data, at offset: Int, of transfer: StateFileTransfer) async throws {
        let metadata = transfer.metadata
        let query = "term=\(metadata.term.rawValue)&index=\(metadata.index.rawValue)&offset=\(offset)"
            + "&total=\(transfer.totalBytes)&transfer=\(transfer.id)&sha256=\(transfer.sha256)"
        var request = HTTPClientRequest(url: baseURL + PeerTransport.stateFilePath + "?" + query)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.headers.add(name: PeerTransport.secretHeader, value: secret)
        request.headers.add(name: PeerTransport.clusterIDHeader, value: clusterID)
        request.body = .bytes(ByteBuffer(bytes: piece))
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard response.status == .noContent else { throw PeerTransportError.refused(Int(response.status.code)) }
    }

    /// Whether the answer carried replies, now handed to the driver.
    private func post(_ batch: [RaftMessage]) -> EventLoopFuture<Bool> {
        guard let connection else {
            return client.eventLoopGroup.next().makeFailedFuture(PeerConnectionError.badURL(baseURL))
        }
        return connection.post(ByteBuffer(bytes: RaftWireCodec.encode(batch)), timeout: .seconds(5))
            .flatMapThrowing { [deliver] answer in
                guard answer.status == 200 else { throw PeerTransportError.refused(answer.status) }
                let replies = try RaftWireCodec.decode(Array(answer.body.readableBytesView))
                guard !replies.isEmpty else { return false }
                deliver(replies) { [self] in sendNext() }
                return true
            }
    }

    /// Closes the connection of a link that is replaced or removed.
    func close() {
        state.withLock { $0.isClosed = true }
        connection?.close()
    }
}

enum PeerTransportError: Error {
    case refused(Int)
    case stateFileShrank
}
