import Foundation
import Logging
import ReplicaCore
import Synchronization

/// A replica of a Raft cluster: handlers submit commands here; a serial driver thread owns
/// the Raft node, persists, sends, applies and answers (see `RaftDriver`).
public final class RaftReplicator: Replicator {
    public struct Configuration: Sendable {
        public var id: Int
        public var peers: [PeerAddress]
        public var clusterSecret: String
        public var tuning = Tuning()

        public init(id: Int, peers: [PeerAddress], clusterSecret: String, tuning: Tuning = Tuning()) {
            self.id = id
            self.peers = peers
            self.clusterSecret = clusterSecret
            self.tuning = tuning
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

        public init() {}
    }

    enum Input {
        case propose(ChatCommand, CheckedContinuation<ChatResult, any Error>)
        case read(CheckedContinuation<Void, any Error>)
        /// Messages from one peer; what this replica has to say back to that peer after
        /// handling them goes in the answer to `replyTo` (see `PeerTransport`).
        case messages([RaftMessage], replyTo: HTTPResponder?)
        case unreachable(NodeID)
        case transferLeadership
    }

    let configuration: Configuration
    let mailbox = DriverMailbox()
    private let currentStatus: Mutex<ClusterStatus>
    private let stopped = DispatchSemaphore(value: 0)
    private let transport: PeerTransport
    private let incomingSnapshots: IncomingSnapshots

    public init(
        configuration: Configuration, database: ChatDatabase, listener: any AppliedListener, logger: Logger
    ) throws {
        self.configuration = configuration
        currentStatus = Mutex(ClusterStatus(
            id: configuration.id, role: "follower", term: 0, leader: nil, commitIndex: 0, appliedIndex: 0,
            members: configuration.peers.map { .init(address: $0) }, isReady: false))
        let incomingSnapshots = try IncomingSnapshots(
            directory: database.directory.appendingPathComponent("incoming-snapshots"))
        self.incomingSnapshots = incomingSnapshots
        let transport = PeerTransport(
            peers: configuration.peers, selfID: configuration.id, secret: configuration.clusterSecret,
            stateFiles: try OutgoingStateFiles(database: database), logger: logger,
            deliver: { [mailbox] replies in
                mailbox.enqueue(.messages(replies.filter(incomingSnapshots.isDeliverable), replyTo: nil))
            },
            onUnreachable: { [mailbox] peer in mailbox.enqueue(.unreachable(peer)) })
        self.transport = transport
        let driver = try RaftDriver(
            configuration: configuration, database: database, incomingSnapshots: incomingSnapshots,
            listener: listener, logger: logger, send: transport.send)
        let thread = Thread { [self] in
            driver.run(mailbox: mailbox, publish: publish)
            stopped.signal()
        }
        thread.name = "raft-driver"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Peer messages arriving over HTTP.
    public var messageHandler: any HTTPRequestHandler {
        InternalRaftAPI(secret: configuration.clusterSecret, incoming: incomingSnapshots) { [mailbox] messages, responder in
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

    public func submit(_ command: ChatCommand) async throws(ReplicationError) -> ChatResult {
        switch writeRoute() {
        case .here: break
        case .leader(let leader): throw .notLeader(leader)
        case .noLeader: throw .noLeader
        }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                mailbox.enqueue(.propose(command, continuation)) { continuation.resume(throwing: ReplicationError.shuttingDown) }
            }
        } catch let error as ReplicationError {
            throw error
        } catch {
            throw .shuttingDown
        }
    }

    public func awaitLinearizableRead() async throws(ReplicationError) {
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

    func publish(_ status: ClusterStatus) { currentStatus.withLock { $0 = status } }

    /// Hands leadership to the most up-to-date follower (so clients see no election timeout),
    /// then stops the driver and fails whatever is still waiting.
    public func shutdown() {
        if status().role == "leader" && configuration.peers.count > 1 {
            mailbox.enqueue(.transferLeadership)
            let deadline = ContinuousClock.now + .milliseconds(configuration.tuning.tickMilliseconds * configuration.tuning.electionTicks * 2)
            while status().role == "leader" && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        mailbox.stop()
        stopped.wait()
        transport.shutdown()
    }
}

/// Inputs for the driver thread, and the signal that wakes it.
final class DriverMailbox: Sendable {
    private let state = Mutex<(inputs: [RaftReplicator.Input], isStopped: Bool)>(([], false))
    private let wakeup = DispatchSemaphore(value: 0)

    /// Queues `input`, or calls `ifStopped` when the driver has stopped.
    func enqueue(_ input: RaftReplicator.Input, ifStopped: () -> Void = {}) {
        let accepted = state.withLock { state in
            guard !state.isStopped else { return false }
            state.inputs.append(input)
            return true
        }
        if accepted { wakeup.signal() } else { ifStopped() }
    }

    func stop() {
        state.withLock { $0.isStopped = true }
        wakeup.signal()
    }

    /// Waits until inputs arrive or `deadline` passes; returns the inputs and whether to stop.
    func take(waitingUntil deadline: DispatchTime) -> (inputs: [RaftReplicator.Input], isStopped: Bool) {
        _ = wakeup.wait(timeout: deadline)
        return state.withLock { state in
            defer { state.inputs.removeAll(keepingCapacity: true) }
            return (state.inputs, state.isStopped)
        }
    }
}
