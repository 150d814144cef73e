import Foundation
import GRDB
import Logging
import ReplicaCore

/// The serial driver of one replica: the only code that touches its Raft node.
///
/// Each turn: take inputs (proposals, reads, peer messages), tick on time, then for every
/// Ready: persist the snapshot, entries and hard state and apply committed entries in one
/// SQLite transaction (one fsync), send messages only after that commit, answer proposers
/// and readers, wake long-polls, and advance. Only the driver thread uses this object.
final class RaftDriver: @unchecked Sendable {
    struct PendingProposal {
        var term: Term
        var continuation: CheckedContinuation<ChatResult, any Error>
        var deadline: ContinuousClock.Instant
    }

    struct PendingRead {
        var continuations: [CheckedContinuation<Void, any Error>]
        var deadline: ContinuousClock.Instant
    }

    let configuration: RaftReplicator.Configuration
    let database: ChatDatabase
    let storage: SQLiteRaftStorage
    let node: RaftNode
    let listener: any AppliedListener
    let logger: Logger
    let send: @Sendable ([RaftMessage]) -> Void
    let peersByID: [UInt64: PeerAddress]
    let requestTimeout: Duration
    let machine = ChatStateMachine()

    private var appliedIndex: LogIndex
    private var snapshotIndex: LogIndex
    private var proposals: [LogIndex: PendingProposal] = [:]
    /// Reads waiting for the leader to confirm a read index, by request context.
    private var readsAwaitingIndex: [UInt64: PendingRead] = [:]
    /// Reads whose index is known, waiting for this replica to apply up to it.
    private var readsAwaitingApply: [(index: LogIndex, read: PendingRead)] = []
    private var nextReadContext: UInt64 = 1
    private var snapshotsInstalled = 0
    /// Set while a snapshot is being exported off the driver thread.
    private var isExportingSnapshot = false
    private var mailbox: DriverMailbox?

    init(
        configuration: RaftReplicator.Configuration, database: ChatDatabase, listener: any AppliedListener,
        logger: Logger, send: @escaping @Sendable ([RaftMessage]) -> Void
    ) throws {
        self.configuration = configuration
        self.database = database
        self.listener = listener
        self.logger = logger
        self.send = send
        peersByID = Dictionary(uniqueKeysWithValues: configuration.peers.map { (UInt64($0.id), $0) })
        requestTimeout = .milliseconds(configuration.tuning.requestTimeoutMilliseconds)
        storage = try SQLiteRaftStorage(database: database)
        let applied = try database.read { try ReplicaStateTable.get(.appliedIndex, in: $0) } ?? 0
        appliedIndex = LogIndex(UInt64(applied))
        snapshotIndex = try storage.snapshot().metadata.index
        var raftConfig = RaftConfig(
            id: NodeID(UInt64(configuration.id)), voters: configuration.peers.map { NodeID(UInt64($0.id)) },
            randomSeed: UInt64.random(in: 0...UInt64.max))
        raftConfig.electionTick = configuration.tuning.electionTicks
        raftConfig.heartbeatTick = configuration.tuning.heartbeatTicks
        raftConfig.appliedIndex = appliedIndex
        try raftConfig.validate()
        node = try RaftNode(config: raftConfig, storage: storage)
        // A lone replica is its own majority: no reason to wait out an election timeout.
        if configuration.peers.count == 1 { node.campaign() }
    }

    func run(mailbox: DriverMailbox, publish: (ClusterStatus) -> Void) {
        self.mailbox = mailbox
        let tick = Duration.milliseconds(configuration.tuning.tickMilliseconds)
        var nextTick = ContinuousClock.now + tick
        while true {
            let wait = max(Duration.zero, nextTick - ContinuousClock.now)
            let (inputs, isStopped) = mailbox.take(
                waitingUntil: .now() + .nanoseconds(Int(wait.components.attoseconds / 1_000_000_000 + wait.components.seconds * 1_000_000_000)))
            if isStopped {
                failEverything(with: .shuttingDown, inputs: inputs)
                return
            }
            for input in inputs { handle(input) }
            let now = ContinuousClock.now
            if now >= nextTick {
                node.tick()
                nextTick = max(nextTick + tick, now)
                expireRequests(now: now)
                releaseSnapshotBytesWhenUnused()
            }
            processReadies()
            publish(clusterStatus())
        }
    }

    // MARK: Inputs

    private func handle(_ input: RaftReplicator.Input) {
        switch input {
        case .propose(let command, let continuation): propose(command, continuation)
        case .read(let continuation): read(continuation)
        case .messages(let messages): for message in messages { node.step(message) }
        case .unreachable(let peer): node.reportUnreachable(peer)
        case .transferLeadership: transferLeadership()
        case .snapshotTaken(let index, let data): saveSnapshot(at: index, data: data)
        }
    }

    private func propose(_ command: ChatCommand, _ continuation: CheckedContinuation<ChatResult, any Error>) {
        let data: [UInt8]
        do {
            data = Array(try JSONEncoder().encode(command))
        } catch {
            continuation.resume(throwing: ReplicationError.timedOut)
            return
        }
        do {
            let (index, term) = try node.propose(data)
            proposals[index] = PendingProposal(term: term, continuation: continuation, deadline: .now + requestTimeout)
        } catch {
            continuation.resume(throwing: replicationError(for: error))
        }
    }

    /// Reads arriving in one turn share one read index.
    private func read(_ continuation: CheckedContinuation<Void, any Error>) {
        if var pending = readsAwaitingIndex[nextReadContext] {
            pending.continuations.append(continuation)
            readsAwaitingIndex[nextReadContext] = pending
            return
        }
        do {
            try node.readIndex(context: nextReadContext)
            readsAwaitingIndex[nextReadContext] = PendingRead(continuations: [continuation], deadline: .now + requestTimeout)
        } catch {
            continuation.resume(throwing: replicationError(for: error))
        }
    }

    private func transferLeadership() {
        let status = node.status()
        guard status.role == .leader else { return }
        let best = status.progress.filter { $0.key != node.id }.max { $0.value.match < $1.value.match }
        guard let target = best?.key else { return }
        logger.info("transferring leadership to \(target) before shutdown")
        try? node.transferLeadership(to: target)
    }

    func replicationError(for error: RaftRequestError) -> ReplicationError {
        switch error {
        case .notLeader(let hint):
            if let hint, let leader = peersByID[hint.rawValue] { return .notLeader(leader) }
            return .noLeader
        case .leadershipTransferInProgress, .unknownNode: return .noLeader
        case .proposalDropped, .readIndexDropped: return .timedOut
        }
    }

    // MARK: Ready

    private func processReadies() {
        // A new read context per turn: reads of the next turn ask for a fresh index.
        if readsAwaitingIndex[nextReadContext] != nil { nextReadContext += 1 }
        while node.hasReady {
            let ready = node.ready()
            let outcomes: [(index: LogIndex, term: Term, result: ChatResult?)]
            do {
                outcomes = try persistAndApply(ready)
            } catch {
                // A replica that cannot write its log must stop rather than guess (etcd does the same).
                fatalError("persisting a Raft batch failed: \(error)")
            }
            send(ready.messages)
            answerProposals(outcomes)
            if ready.snapshot != nil { listener.didReplaceState() }
            listener.didApply(outcomes.compactMap { try? $0.result?.get() })
            for readState in ready.readStates { indexKnown(readState) }
            node.advance(ready)
            answerReads()
            takeSnapshotIfDue()
        }
    }

    private func persistAndApply(_ ready: Ready) throws -> [(index: LogIndex, term: Term, result: ChatResult?)] {
        try database.write { db in
            if let snapshot = ready.snapshot {
                try storage.installSnapshot(snapshot, in: db)
                try ChatStateSnapshot.restore(snapshot.data, into: db)
                appliedIndex = snapshot.metadata.index
                snapshotIndex = snapshot.metadata.index
                snapshotsInstalled += 1
                try ReplicaStateTable.set(.appliedIndex, to: Int64(appliedIndex.rawValue), in: db)
            }
            try storage.append(ready.entries, in: db)
            if let hardState = ready.hardState { try storage.setHardState(hardState, in: db) }
            var outcomes: [(index: LogIndex, term: Term, result: ChatResult?)] = []
            let chatStore = SQLiteChatStore(db: db)
            for entry in ready.committedEntries where entry.index > appliedIndex {
                precondition(entry.index.rawValue == appliedIndex.rawValue + 1, "entries are applied in order, once")
                var result: ChatResult?
                if !entry.isNoOp {
                    let command = try JSONDecoder().decode(ChatCommand.self, from: Data(entry.data))
                    result = try machine.apply(command, to: chatStore)
                }
                appliedIndex = entry.index
                outcomes.append((entry.index, entry.term, result))
            }
            if !outcomes.isEmpty {
                try ReplicaStateTable.set(.appliedIndex, to: Int64(appliedIndex.rawValue), in: db)
            }
            return outcomes
        }
    }

    private func answerProposals(_ outcomes: [(index: LogIndex, term: Term, result: ChatResult?)]) {
        for outcome in outcomes {
            guard let pending = proposals.removeValue(forKey: outcome.index) else { continue }
            if pending.term == outcome.term, let result = outcome.result {
                pending.continuation.resume(returning: result)
            } else {
                // Another leader's entry took this index: the proposal was lost, a retry is safe.
                pending.continuation.resume(throwing: ReplicationError.timedOut)
            }
        }
    }

    private func indexKnown(_ readState: ReadState) {
        guard let pending = readsAwaitingIndex.removeValue(forKey: readState.context) else { return }
        readsAwaitingApply.append((readState.index, pending))
    }

    private func answerReads() {
        guard !readsAwaitingApply.isEmpty else { return }
        var stillWaiting: [(index: LogIndex, read: PendingRead)] = []
        for waiting in readsAwaitingApply {
            if waiting.index <= appliedIndex {
                for continuation in waiting.read.continuations { continuation.resume() }
            } else {
                stillWaiting.append(waiting)
            }
        }
        readsAwaitingApply = stillWaiting
    }

    /// Starts exporting the state at the applied index once enough entries were applied since
    /// the last snapshot. The export reads a frozen view on another thread, so applying goes on;
    /// the driver saves the result and compacts the log when it arrives (`saveSnapshot`).
    private func takeSnapshotIfDue() {
        guard !isExportingSnapshot, let mailbox,
              appliedIndex.rawValue - snapshotIndex.rawValue >= configuration.tuning.snapshotEveryEntries
        else { return }
        let index = appliedIndex
        let view: DatabaseSnapshot
        do {
            view = try database.makeFrozenView()
        } catch {
            logger.error("could not open a view for a snapshot", metadata: ["error": "\(error)"])
            return
        }
        isExportingSnapshot = true
        let logger = logger
        Thread.detachNewThread {
            do {
                let data = try view.read { try ChatStateSnapshot.export(from: $0) }
                mailbox.enqueue(.snapshotTaken(index, data))
            } catch {
                logger.error("exporting a snapshot failed", metadata: ["error": "\(error)"])
                mailbox.enqueue(.snapshotTaken(index, []))
            }
        }
    }

    private func saveSnapshot(at index: LogIndex, data: [UInt8]) {
        isExportingSnapshot = false
        // A snapshot installed from the leader meanwhile may have overtaken this one.
        guard !data.isEmpty, index > storage.latestSnapshotIndex, index > storage.compactedIndex,
              index <= storage.lastIndex()
        else { return }
        do {
            try database.write { db in
                try storage.createSnapshot(
                    at: index, data: data, retainedEntries: configuration.tuning.retainedEntries, in: db)
            }
            snapshotIndex = index
            logger.info("took a snapshot at index \(index)")
        } catch {
            fatalError("saving a snapshot failed: \(error)")
        }
    }

    private func releaseSnapshotBytesWhenUnused() {
        let status = node.status()
        if status.role != .leader || !status.progress.values.contains(where: { $0.state == .snapshot }) {
            storage.releaseSnapshotCache()
        }
    }

    // MARK: Time-outs and status

    private func expireRequests(now: ContinuousClock.Instant) {
        for (index, pending) in proposals where pending.deadline <= now {
            proposals[index] = nil
            pending.continuation.resume(throwing: ReplicationError.timedOut)
        }
        let noLeader: ReplicationError = node.status().leader == nil ? .noLeader : .timedOut
        for (context, pending) in readsAwaitingIndex where pending.deadline <= now {
            readsAwaitingIndex[context] = nil
            for continuation in pending.continuations { continuation.resume(throwing: noLeader) }
        }
        readsAwaitingApply.removeAll { waiting in
            guard waiting.read.deadline <= now else { return false }
            for continuation in waiting.read.continuations { continuation.resume(throwing: ReplicationError.timedOut) }
            return true
        }
    }

    private func failEverything(with error: ReplicationError, inputs: [RaftReplicator.Input]) {
        for input in inputs {
            switch input {
            case .propose(_, let continuation): continuation.resume(throwing: error)
            case .read(let continuation): continuation.resume(throwing: error)
            default: break
            }
        }
        for pending in proposals.values { pending.continuation.resume(throwing: error) }
        for pending in readsAwaitingIndex.values { for continuation in pending.continuations { continuation.resume(throwing: error) } }
        for waiting in readsAwaitingApply { for continuation in waiting.read.continuations { continuation.resume(throwing: error) } }
        proposals = [:]
        readsAwaitingIndex = [:]
        readsAwaitingApply = []
    }

    func clusterStatus() -> ClusterStatus {
        let status = node.status()
        let role: String = switch status.role {
        case .leader: "leader"
        case .candidate, .preCandidate: "candidate"
        case .follower: "follower"
        }
        let leader = status.leader.flatMap { peersByID[$0.rawValue] }
        let members = configuration.peers.map { peer in
            ClusterStatus.Member(
                address: peer,
                matchIndex: status.role == .leader
                    ? (peer.id == configuration.id ? Int64(status.lastIndex.rawValue) : status.progress[NodeID(UInt64(peer.id))].map { Int64($0.match.rawValue) })
                    : nil)
        }
        var clusterStatus = ClusterStatus(
            id: configuration.id, role: role, term: Int64(status.term.rawValue), leader: leader,
            commitIndex: Int64(status.commit.rawValue), appliedIndex: Int64(appliedIndex.rawValue), members: members,
            isReady: leader != nil && appliedIndex >= status.commit)
        clusterStatus.snapshotsInstalled = snapshotsInstalled
        return clusterStatus
    }
}
