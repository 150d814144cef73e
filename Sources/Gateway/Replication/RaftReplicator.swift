import Foundation
import NIOSSL
import Logging
import ReplicaCore
import Synchronization

/// A replica of a Raft cluster: handlers submit commands here; a serial driver thread owns
/// the Raft node, persists, sends, applies and answers (see `RaftDriver`).
public final class RaftReplicator: Replicator {
    public struct Configuration: Sendable {
        public var id: Int
        /// Where the other replicas reach this one.
        public var url: String
        /// How a replica with an empty data directory comes into its cluster; ignored once
        /// the data directory records one.
        public var entry: ClusterEntry
        public var clusterSecret: String
        /// For calls to `https` peers; nil when peers speak plain HTTP.
        public var peerTLS: TLSConfiguration?
        public var tuning = Tuning()

        public init(id: Int, url: String, entry: ClusterEntry, clusterSecret: String, tuning: Tuning = Tuning()) {
            self.id = id
            self.url = url
            self.entry = entry
            self.clusterSecret = clusterSecret
            self.tuning = tuning
        }

        /// A cluster of `peers` (this replica among them), bootstrapped when new.
        public init(id: Int, peers: [PeerAddress], clusterSecret: String, tuning: Tuning = Tuning()) {
            self.init(
                id: id, url: peers.first { $0.id == id }?.url ?? "", entry: .bootstrap(peers: peers),
                clusterSecret: clusterSecret, tuning: tuning)
        }
    }

    /// Timing and log-size settings, each with an operator-facing `chatd` flag.
    public struct Tuning: Sendable {
        /// 20 ms ticks and 10-tick elections (200–400 ms) are what the failover benchmark meets
        /// its targets with; raise both on slow or distant links.
        public var tickMilliseconds: Int = 20
        public var electionTicks: Int = 10
        public var heartbeatTicks: Int = 1
        /// A snapshot is taken after this many entries have been applied since the last one.
        public var snapshotEveryEntries: UInt64 = 10_000
        /// Entries kept behind a snapshot, so slightly lagging followers catch up from the log.
        public var retainedEntries: UInt64 = 1_000
        /// How long a write or a linearizable read may wait before answering 503.
        public var requestTimeoutMilliseconds: Int = 5_000
        /// Below this much free space in the data directory's filesystem, writes are refused
        /// with 503 `storage_full` (`DiskSpace`); 0 turns the reserve off.
        public var minimumFreeDiskBytes: UInt64 = 64 << 20

        public init() {}

        /// The shortest election timeout (the randomized one runs up to twice this).
        var electionTimeout: Duration { .milliseconds(tickMilliseconds) * electionTicks }
    }

    enum Input {
        case propose(ChatCommand, WriteTimeline?, @Sendable (Result<ChatResult, ReplicationError>) -> Void)
        case read(CheckedContinuation<Void, any Error>)
        /// Messages from one peer; what this replica has to say back to that peer after
        /// handling them goes in the answer to `replyTo` (see `PeerTransport`). Replies to this
        /// replica's own request carry `resume` instead: the link to that peer sends again
        /// once it is called.
        case messages([RaftMessage], replyTo: HTTPResponder?, resume: (@Sendable () -> Void)? = nil)
        case unreachable(NodeID)
        case transferLeadership
        case changeMembership(MembershipChange, CheckedContinuation<ClusterStatus.Member?, any Error>)
    }

    let configuration: Configuration
    let mailbox = DriverMailbox()
    /// Whether the driver runs: before that (a new cluster waiting for its peers, a joiner
    /// waiting to be added) nothing would take a read or a change off the mailbox.
    private let driverRuns = Atomic<Bool>(false)
    private let currentStatus: Mutex<ClusterStatus>
    private let stopped = DispatchSemaphore(value: 0)
    /// Called once this replica learns it is no longer a member (`RemovalWatch`).
    let removalHandler = Mutex<(@Sendable () -> Void)?>(nil)
    private let transport: PeerTransport
    private let incomingSnapshots: IncomingSnapshots
    private let board: ClusterIdentityBoard
    let logger: Logger
    /// Calls to peers outside Raft: joining, asking to be promoted, asking whether this one is still a member.
    let calls: PeerCalls

    /// `recordStage` receives how long a follower's entries took to be persisted and applied
    /// (`chat_write_stage_seconds`).
    public init(
        configuration: Configuration, database: ChatDatabase, listener: any AppliedListener, logger: Logger,
        recordStage: @escaping @Sendable (String, Duration) -> Void = { _, _ in }
    ) throws {
        self.configuration = configuration
        self.logger = logger
        let identity = try database.read { try ReplicaIdentityTable.load(in: $0) }
        let board = ClusterIdentityBoard(
            clusterID: identity?.clusterID, heardFrom: try database.read { try PeerContactTable.all(in: $0) })
        self.board = board
        // Until the driver runs, the status shows the members this replica was started with.
        var initialStatus = ClusterStatus(
            id: configuration.id, role: "follower", term: 0, leader: nil, commitIndex: 0, appliedIndex: 0,
            members: [], isReady: false)
        if case .bootstrap(let peers) = configuration.entry { initialStatus.members = peers.map { .init(address: $0) } }
        initialStatus.clusterID = identity?.clusterID ?? ""
        currentStatus = Mutex(initialStatus)
        let incomingSnapshots = try IncomingSnapshots(
            directory: database.directory.appendingPathComponent("incoming-snapshots"))
        self.incomingSnapshots = incomingSnapshots
        let transport = PeerTransport(
            selfID: configuration.id, secret: configuration.clusterSecret, tls: configuration.peerTLS,
            stateFiles: try OutgoingStateFiles(database: database), logger: logger,
            deliver: { [mailbox] replies, resume in
                mailbox.enqueue(.messages(replies.filter(incomingSnapshots.isDeliverable), replyTo: nil, resume: resume),
                                ifStopped: resume)
            },
            onUnreachable: { [mailbox] peer in mailbox.enqueue(.unreachable(peer)) })
        self.transport = transport
        let calls = PeerCalls(secret: configuration.clusterSecret, tls: configuration.peerTLS)
        self.calls = calls
        let thread = Thread { [self, mailbox] in
            // Settling the identity may wait for peers; the HTTP server answers meanwhile.
            let settled: ReplicaIdentity
            do {
                settled = try identity ?? Self.settleIdentity(configuration, database: database, calls: calls, logger: logger)
            } catch let refusal as ClusterEntryRefusal {
                logger.critical("\(refusal.description)")
                FileHandle.standardError.write(Data((refusal.description + "\n").utf8))
                exit(2)
            } catch {
                fatalError("recording this replica's identity failed: \(error)")
            }
            board.settle(clusterID: settled.clusterID)
            let driver: RaftDriver
            do {
                driver = try RaftDriver(
                    configuration: configuration, identity: settled, board: board, database: database,
                    incomingSnapshots: incomingSnapshots, listener: listener, logger: logger, send: transport.send,
                    updatePeers: { transport.update(addresses: $0, clusterID: settled.clusterID) },
                    recordStage: recordStage)
            } catch {
                fatalError("starting Raft failed: \(error)")
            }
            if Self.seeksPromotion(configuration, firstStart: identity == nil, database: database, logger: logger) {
                Task { await self.promoteWhenCaughtUp() }
            }
            Task { await self.watchForRemoval(database: database, memberSince: settled.memberSince) }
            driverRuns.store(true, ordering: .releasing)
            driver.run(mailbox: mailbox, publish: publish)
            stopped.signal()
        }
        thread.name = "raft-driver"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Works out the identity of a replica whose data directory records none (see
    /// `ClusterEntry`) and records it before Raft first runs.
    private static func settleIdentity(
        _ configuration: Configuration, database: ChatDatabase, calls: PeerCalls, logger: Logger
    ) throws -> ReplicaIdentity {
        let identity: ReplicaIdentity
        if try database.read({ try ReplicaIdentityTable.holdsRaftState(in: $0) }), case .bootstrap(let peers) = configuration.entry {
            // A data directory written before replicas recorded their identity.
            identity = ReplicaIdentity(
                clusterID: "unnamed", replicaID: configuration.id, url: configuration.url,
                bootstrapMembership: Membership(founding: peers))
        } else {
            let resolver = ClusterEntryResolver(
                replicaID: configuration.id, ownURL: configuration.url, dataDirectory: database.directory.path,
                calls: calls, logger: logger)
            identity = try resolver.resolve(configuration.entry)
        }
        try database.write { db in
            try ReplicaIdentityTable.save(identity, in: db)
            if case .join(let urls, _) = configuration.entry { try JoinedThroughTable.record(urls, in: db) }
        }
        logger.notice("replica \(identity.replicaID) of cluster \(identity.clusterID)")
        return identity
    }

    /// Whether this replica asks to become a voter: one that joins without `--learner` does,
    /// and records it, so that a restart before its promotion (a crash during a long catch-up)
    /// does not leave it a learner for good.
    private static func seeksPromotion(
        _ configuration: Configuration, firstStart: Bool, database: ChatDatabase, logger: Logger
    ) -> Bool {
        do {
            if firstStart, case .join(_, let stayLearner) = configuration.entry {
                if !stayLearner { try database.write { try ReplicaStateTable.set(.seeksPromotion, to: 1, in: $0) } }
                return !stayLearner
            }
            return try database.read { try ReplicaStateTable.get(.seeksPromotion, in: $0) } == 1
        } catch {
            logger.error("could not read or record whether this replica asks to become a voter: \(error)")
            return false
        }
    }

    /// A replica that joined as a learner asks the leader to make it a voter until it is
    /// one: the leader refuses (409 not_caught_up) while it lags.
    ///
    /// A refusal that waiting does not end (`change_refused`, such as a cluster at its most
    /// voters) is logged once, and asked about again only every `refusedRetry`: it may end when
    /// an operator removes a voter.
    private func promoteWhenCaughtUp(refusedRetry: Duration = .seconds(10)) async {
        let id = configuration.id
        let retry = Duration.milliseconds(max(100, configuration.tuning.tickMilliseconds * 10))
        var refusal: String?
        while true {
            try? await Task.sleep(for: refusal == nil ? retry : refusedRetry)
            let status = status()
            if mailbox.isStopped { return }
            guard let me = status.members.first(where: { $0.address.id == id }) else { continue }
            if me.role == .voter { return }
            guard let leader = status.leader, status.appliedIndex > 0 else { continue }
            let calls = calls
            // The call blocks for up to its timeout per hop: on a thread of its own, not one of the
            // few that run every task (a hanging leader would hold one for the whole call).
            let answer = await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .utility).async {
                    continuation.resume(returning: calls.call(.POST, "\(leader.url)/v1/cluster/members/\(id)/promote"))
                }
            }
            if answer?.status == 200 {
                logger.notice("caught up with the leader: now a voter")
                return
            }
            guard let answer, answer.status == 409, answer.errorCode == "change_refused" else {
                refusal = nil
                continue
            }
            let reason = answer.error?["message"] as? String ?? "refused"
            // Promoted meanwhile (an operator, or an answer that was lost); the status here lags.
            if reason.contains("already a voter") { return }
            if reason != refusal {
                logger.warning("""
                    the leader refuses to make replica \(id) a voter: \(reason); it stays a learner and asks again \
                    every \(refusedRetry.components.seconds) s (start it with --learner to stay one)
                    """)
            }
            refusal = reason
        }
    }

    public func whenRemoved(_ handler: @escaping @Sendable () -> Void) {
        removalHandler.withLock { $0 = handler }
    }

    /// Peer messages arriving over HTTP.
    public var messageHandler: any HTTPRequestHandler {
        InternalRaftAPI(
            secret: configuration.clusterSecret, incoming: incomingSnapshots, board: board, replicaID: configuration.id
        ) { [mailbox] messages, responder in
            mailbox.enqueue(.messages(messages, replyTo: responder)) {
                responder.answer(APIError.shuttingDown.response)
            }
        }
    }

    public func writeRoute() -> WriteRoute {
        let status = status()
        if status.role == "leader" { return .here }
        if let leader = status.leader { return .leader(leader) }
        return .noLeader
    }

    public func submit(
        _ command: ChatCommand, timeline: WriteTimeline?,
        then completion: @escaping @Sendable (Result<ChatResult, ReplicationError>) -> Void
    ) {
        switch writeRoute() {
        case .here: break
        case .leader(let leader): return completion(.failure(.notLeader(leader)))
        case .noLeader: return completion(.failure(.noLeader))
        }
        timeline?.submitted = .now
        mailbox.enqueue(.propose(command, timeline, completion)) { completion(.failure(.shuttingDown)) }
    }

    public func awaitLinearizableRead() async throws(ReplicationError) {
        guard driverRuns.load(ordering: .acquiring) else { throw .noLeader }
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                mailbox.enqueue(.read(continuation)) { continuation.resume(throwing: ReplicationError.shuttingDown) }
            }
        } catch let error as ReplicationError {
            throw error
        } catch {
            throw .shuttingDown
        }
    }

    public func status() -> ClusterStatus { currentStatus.withLock { $0 } }

    public func changeMembership(_ change: MembershipChange) async throws(MembershipChangeError) -> ClusterStatus.Member? {
        guard driverRuns.load(ordering: .acquiring) else { throw .replication(.noLeader) }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                mailbox.enqueue(.changeMembership(change, continuation)) {
                    continuation.resume(throwing: MembershipChangeError.replication(.shuttingDown))
                }
            }
        } catch let error as MembershipChangeError {
            throw error
        } catch {
            throw .replication(.shuttingDown)
        }
    }

    func publish(_ status: ClusterStatus) { currentStatus.withLock { $0 = status } }

    /// Hands leadership to the most up-to-date follower (so clients see no election timeout),
    /// then stops the driver and fails whatever is still waiting.
    public func shutdown() {
        if status().role == "leader" && status().members.filter({ $0.role == .voter }).count > 1 {
            mailbox.enqueue(.transferLeadership)
            let deadline = ContinuousClock.now + configuration.tuning.electionTimeout * 2
            while status().role == "leader" && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        mailbox.stop()
        // Still settling its identity (waiting for peers): there is no driver to wait for.
        if board.clusterID != nil { stopped.wait() }
        transport.shutdown()
        calls.shutdown()
    }
}

/// Inputs for the driver thread, and the signal that wakes it.
final class DriverMailbox: Sendable {
    private let state = Mutex<(inputs: [RaftReplicator.Input], isStopped: Bool)>(([], false))
    private let wakeup = DispatchSemaphore(value: 0)

    /// Queues `input`, or calls `ifStopped` when the driver has stopped.
    ///
    /// Only the first input of an empty queue wakes the driver: the turn that takes it takes the
    /// rest too. A signal per input left the semaphore counting up while the driver was busy,
    /// and the driver then ran one empty turn per input it had already taken.
    func enqueue(_ input: RaftReplicator.Input, ifStopped: () -> Void = {}) {
        let outcome = state.withLock { state -> (accepted: Bool, wakes: Bool) in
            guard !state.isStopped else { return (false, false) }
            state.inputs.append(input)
            return (true, state.inputs.count == 1)
        }
        if outcome.wakes { wakeup.signal() } else if !outcome.accepted { ifStopped() }
    }

    func stop() {
        state.withLock { $0.isStopped = true }
        wakeup.signal()
    }

    var isStopped: Bool { state.withLock { $0.isStopped } }

    /// Waits until inputs arrive or `deadline` passes; returns the inputs and whether to stop.
    func take(waitingUntil deadline: DispatchTime) -> (inputs: [RaftReplicator.Input], isStopped: Bool) {
        _ = wakeup.wait(timeout: deadline)
        return state.withLock { state in
            defer { state.inputs.removeAll(keepingCapacity: true) }
            return (state.inputs, state.isStopped)
        }
    }
}
