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
        var complete: @Sendable (Result<ChatResult, ReplicationError>) -> Void
        var deadline: ContinuousClock.Instant
        var timeline: WriteTimeline?
    }

    struct PendingRead {
        var continuations: [CheckedContinuation<Void, any Error>]
        var deadline: ContinuousClock.Instant
    }

    let configuration: RaftReplicator.Configuration
    let identity: ReplicaIdentity
    let board: ClusterIdentityBoard
    let database: ChatDatabase
    let incomingSnapshots: IncomingSnapshots
    let storage: SQLiteRaftStorage
    let node: RaftNode
    let listener: any AppliedListener
    let logger: Logger
    let send: @Sendable ([RaftMessage]) -> Void
    /// Told every member's address whenever the configuration changes.
    let updatePeers: @Sendable ([NodeID: String]) -> Void
    /// The members of the configuration in force, by id.
    private(set) var peersByID: [UInt64: PeerAddress] = [:]
    private var knownMembership = Membership()
    let requestTimeout: Duration
    let machine = ChatStateMachine()

    /// The index the chat state in the database stands at. After a snapshot is installed it
    /// can be ahead of the Raft log (the state file was copied later than the snapshot's
    /// index); entries up to it are then skipped rather than applied twice.
    private var appliedIndex: LogIndex
    private var proposals: [LogIndex: PendingProposal] = [:]
    /// Reads waiting for the leader to confirm a read index, by request context.
    private var readsAwaitingIndex: [UInt64: PendingRead] = [:]
    /// Reads whose index is known, waiting for this replica to apply up to it.
    private var readsAwaitingApply: [(index: LogIndex, read: PendingRead)] = []
    /// Configuration changes waiting to be committed and applied, by log index.
    private var membershipProposals: [LogIndex: PendingMembershipChange] = [:]
    /// Starts at a random number: a read-index answer to a request sent before a restart must
    /// never match a request made after it (the leader echoes whatever context it was given).
    private(set) var nextReadContext = UInt64.random(in: 1...(UInt64.max / 2))
    private var snapshotsInstalled = 0
    /// The applied state's row counts: counted once at start and after installing a snapshot,
    /// then kept by adding what each transaction inserts and deletes.
    private var sizes: ChatStateSizes
    /// The session rows the transaction under way wrote, for `database.sessions` once it commits.
    private var sessionChanges = SessionChanges()
    let recordStage: @Sendable (String, Duration) -> Void
    /// On a follower: when the driver took the append that carried an entry, then when that
    /// entry was on disk, by index (`follower_persist`, `follower_commit_apply` stages).
    private var entryTaken: [LogIndex: ContinuousClock.Instant] = [:]
    private var entryPersisted: [LogIndex: ContinuousClock.Instant] = [:]
    /// Peers whose request is waiting for this turn's replies, and those replies.
    private var pendingReplies: [NodeID: [HTTPResponder]] = [:]
    private var replies: [NodeID: [RaftMessage]] = [:]
    /// Links waiting for this turn to handle the replies they brought (see `PeerLink`).
    private var linksToResume: [@Sendable () -> Void] = []
    let diskSpace: DiskSpace
    /// Whether the last look found free space below the reserve (logged when it changes).
    private var isBelowDiskReserve = false
    /// Whether this turn looked already: its proposals are persisted together, so once a turn
    /// is enough, and a `statvfs` for each proposal was 2% of a leader's samples at saturation.
    private var diskSpaceLookedAtThisTurn = false
    private var nextDiskLook = ContinuousClock.now
    private var nextHandOverForLackOfDisk = ContinuousClock.now
    /// The term this replica leads, while it does: its stepping down is logged with the reason.
    private var ledTerm: UInt64?
    /// A Ready that could not be persisted because the disk is full, and whether its messages
    /// went out already. While one is held the node is frozen: no ticks, no steps, no
    /// proposals, as if this replica were paused, until a retry persists it.
    private var heldReady: (ready: Ready, messagesSent: Bool)?
    private var nextStorageRetry = ContinuousClock.now
    private var nextSnapshotAttempt = ContinuousClock.now
    /// For `RemovalWatch`: when a message from the leader this replica follows last came, and
    /// the index of its own removal if it committed that removal while leading.
    private var leaderContact: ContinuousClock.Instant?
    private var ownRemovalIndex: LogIndex?
    private var isLeading = false

    init(
        configuration: RaftReplicator.Configuration, identity: ReplicaIdentity, board: ClusterIdentityBoard,
        database: ChatDatabase, incomingSnapshots: IncomingSnapshots,
        listener: any AppliedListener, logger: Logger, send: @escaping @Sendable ([RaftMessage]) -> Void,
        updatePeers: @escaping @Sendable ([NodeID: String]) -> Void,
        recordStage: @escaping @Sendable (String, Duration) -> Void = { _, _ in }
    ) throws {
        self.recordStage = recordStage
        self.configuration = configuration
        self.identity = identity
        self.board = board
        self.updatePeers = updatePeers
        self.database = database
        self.incomingSnapshots = incomingSnapshots
        self.listener = listener
        self.logger = logger
        self.send = send
        requestTimeout = .milliseconds(configuration.tuning.requestTimeoutMilliseconds)
        diskSpace = DiskSpace(directory: database.directory, minimumFreeBytes: configuration.tuning.minimumFreeDiskBytes)
        storage = try SQLiteRaftStorage(database: database)
        let applied = try database.read { try ReplicaStateTable.get(.appliedIndex, in: $0) } ?? 0
        appliedIndex = LogIndex(UInt64(applied))
        sizes = try database.read { try ChatQueries.sizes(in: $0) }
        var raftConfig = RaftConfig(
            id: NodeID(UInt64(identity.replicaID)), voters: identity.bootstrapMembership.voters,
            randomSeed: UInt64.random(in: 0...UInt64.max))
        raftConfig.bootstrapAddresses = identity.bootstrapMembership.addresses
        raftConfig.electionTick = configuration.tuning.electionTicks
        raftConfig.heartbeatTick = configuration.tuning.heartbeatTicks
        raftConfig.appliedIndex = min(appliedIndex, storage.lastIndex())
        try raftConfig.validate()
        node = try RaftNode(config: raftConfig, storage: storage)
        noteMembership()
        // A lone replica is its own majority: no reason to wait out an election timeout.
        if node.membership.voters == [node.id] { node.campaign() }
    }

    /// Follows the configuration in force: the transport's links and the addresses used
    /// for redirects and `GET /v1/cluster`.
    private func noteMembership() {
        let membership = node.membership
        guard membership != knownMembership else { return }
        if !knownMembership.isEmpty {
            logger.notice("configuration is now \(membership)")
        }
        knownMembership = membership
        peersByID = Dictionary(uniqueKeysWithValues: membership.addresses.map { ($0.key.rawValue, PeerAddress(id: Int($0.key.rawValue), url: $0.value)) })
        updatePeers(membership.addresses)
    }

    func run(mailbox: DriverMailbox, publish: (ClusterStatus) -> Void) {
        let tick = Duration.milliseconds(configuration.tuning.tickMilliseconds)
        var nextTick = ContinuousClock.now + tick
        while true {
            let (inputs, isStopped) = mailbox.take(waitingUntil: .after(nextTick - ContinuousClock.now))
            if isStopped {
                failEverything(with: .shuttingDown, inputs: inputs)
                return
            }
            diskSpaceLookedAtThisTurn = false
            for input in inputs { heldReady == nil ? handle(input) : refuseWhileHolding(input) }
            let now = ContinuousClock.now
            if now >= nextTick {
                if heldReady == nil { node.tick() }
                // Also without writes, so the log says when space runs short and comes back,
                // on followers too, not only when the next write reaches a leader.
                if now >= nextDiskLook {
                    nextDiskLook = now + .seconds(1)
                    lookAtDiskSpace()
                }
                nextTick = max(nextTick + tick, now)
                expireRequests(now: now)
            }
            if heldReady != nil && now >= nextStorageRetry { retryHeldReady() }
            if heldReady == nil { processReadies() }
            resumeLinks()
            answerPeers()
            publish(clusterStatus())
        }
    }

    // MARK: Inputs

    private func handle(_ input: RaftReplicator.Input) {
        switch input {
        case .propose(let command, let timeline, let complete): propose(command, timeline, complete)
        case .read(let continuation): read(continuation)
        case .messages(let messages, let responder, let resume):
            if let resume { linksToResume.append(resume) }
            if let sender = messages.first?.from, !recordContact(with: Int(sender.rawValue)) {
                responder?.answer(PeerTransport.replyResponse([]))
                return
            }
            noteEntriesTaken(messages)
            for message in messages { node.step(message) }
            if let sender = messages.first?.from, sender == node.leader { leaderContact = .now }
            if let responder {
                if let sender = messages.first?.from {
                    pendingReplies[sender, default: []].append(responder)
                } else {
                    responder.answer(PeerTransport.replyResponse([]))
                }
            }
        case .unreachable(let peer): node.reportUnreachable(peer)
        case .transferLeadership:
            if let target = transferLeadership() { logger.info("transferring leadership to replica \(target.rawValue) before shutdown") }
        case .changeMembership(let change, let continuation): changeMembership(change, continuation)
        }
    }

    func changeMembership(
        _ change: MembershipChange, _ continuation: CheckedContinuation<ClusterStatus.Member?, any Error>
    ) {
        guard node.role == .leader else {
            return continuation.resume(
                throwing: MembershipChangeError.replication(replicationError(for: .notLeader(leaderHint: node.leader))))
        }
        let proposed: Membership
        switch Self.proposedMembership(change, from: node.membership) {
        case .failure(let error): return continuation.resume(throwing: error)
        case .success(let membership): proposed = membership
        }
        do {
            let (index, term) = try node.proposeMembership(proposed)
            logger.notice("proposed configuration \(proposed) at index \(index)")
            membershipProposals[index] = PendingMembershipChange(
                term: term, subject: Self.subject(of: change), continuation: continuation, deadline: .now + requestTimeout)
        } catch {
            let failure: MembershipChangeError = switch error {
            case .membershipChangeInProgress: .changeInProgress
            case .learnerNotCaughtUp(let match, let lastIndex):
                .notCaughtUp(match: Int64(match.rawValue), lastIndex: Int64(lastIndex.rawValue))
            case .invalidMembershipChange(let reason): .refused(reason)
            case .wouldLoseQuorum(let unreachable, let quorum):
                .votersUnreachable(Self.quorumLossReason(unreachable: unreachable.map { Int($0.rawValue) }, voters: proposed.voters.count, quorum: quorum))
            default: .replication(replicationError(for: error))
            }
            continuation.resume(throwing: failure)
        }
    }

    /// Answers a change once its entry is applied here (so committed); a change whose index
    /// another leader's entry took was lost.
    func answerMembershipChanges(_ outcomes: [(index: LogIndex, term: Term, result: ChatResult?)]) {
        guard !membershipProposals.isEmpty else { return }
        for outcome in outcomes {
            guard let pending = membershipProposals.removeValue(forKey: outcome.index) else { continue }
            guard pending.term == outcome.term else {
                pending.continuation.resume(throwing: MembershipChangeError.replication(.timedOut))
                continue
            }
            let status = clusterStatus()
            pending.continuation.resume(returning: status.members.first { $0.address.id == Int(pending.subject.rawValue) })
        }
    }

    /// While a Ready is held for want of disk space, the node takes nothing: writes and
    /// linearizable reads are refused, and peers' messages are dropped (to them this replica
    /// looks partitioned away, which Raft is built for).
    private func refuseWhileHolding(_ input: RaftReplicator.Input) {
        switch input {
        case .propose(_, _, let complete): complete(.failure(.storageFull))
        case .read(let continuation): continuation.resume(throwing: ReplicationError.storageFull)
        case .messages(_, let responder, let resume):
            responder?.answer(PeerTransport.replyResponse([]))
            resume?()
        case .unreachable, .transferLeadership: break
        case .changeMembership(_, let continuation):
            continuation.resume(throwing: MembershipChangeError.replication(.storageFull))
        }
    }

    /// Records, durably and before handling anything from it, that `replicaID` spoke to this
    /// replica: if that replica's data is ever lost, this record is what stops it from
    /// starting again under the same id (`ClusterEntry`). False when the disk is full: the
    /// messages are then dropped, and the record is tried again with the peer's next batch.
    private func recordContact(with replicaID: Int) -> Bool {
        guard !board.hasHeard(from: replicaID) else { return true }
        do {
            try database.write { db in try PeerContactTable.record(replicaID, in: db) }
        } catch where StorageFailure.isRetryable(error) {
            logger.warning("cannot record contact with replica \(replicaID) (\(error)); dropping its messages")
            return false
        } catch {
            fatalError("recording contact with replica \(replicaID) failed: \(error)")
        }
        _ = board.noteHeard(from: replicaID)
        return true
    }

    private func propose(
        _ command: ChatCommand, _ timeline: WriteTimeline?,
        _ complete: @escaping @Sendable (Result<ChatResult, ReplicationError>) -> Void
    ) {
        if !diskSpaceLookedAtThisTurn {
            diskSpaceLookedAtThisTurn = true
            lookAtDiskSpace()
        }
        if isBelowDiskReserve {
            handOverForLackOfDisk()
            return complete(.failure(.storageFull))
        }
        do {
            let (index, term) = try node.propose(ChatCommandCodec.encode(command))
            timeline?.proposed = .now
            proposals[index] = PendingProposal(
                term: term, complete: complete, deadline: .now + requestTimeout, timeline: timeline)
        } catch {
            complete(.failure(replicationError(for: error)))
        }
    }

    /// A leader that cannot write stops the whole cluster's writes, while its followers may
    /// have room: it hands leadership to the most caught-up voter, at most every 2 s (the
    /// other may be short of space too, and hand it back). The leader cannot tell which voters
    /// have room, so a handover may land on one that has none (a shutdown's does too); a short
    /// wait keeps the cluster's writes from stopping long when it does.
    private func handOverForLackOfDisk() {
        let now = ContinuousClock.now
        guard node.role == .leader, now >= nextHandOverForLackOfDisk else { return }
        nextHandOverForLackOfDisk = now + .seconds(2)
        // Only a voter heard from and keeping up, and a random one of the most caught up: two
        // replicas short of space must not keep handing leadership to each other.
        guard let target = transferLeadership(amongActiveAtRandom: true) else { return }
        logger.warning("transferring leadership to replica \(target.rawValue): this replica's disk is below the reserve")
    }

    private func lookAtDiskSpace() {
        guard diskSpace.isBelowReserve != isBelowDiskReserve else { return }
        isBelowDiskReserve.toggle()
        if isBelowDiskReserve {
            logger.warning("less than \(diskSpace.minimumFreeBytes) bytes free in \(diskSpace.directory.path): refusing writes (503 storage_full) until space is freed")
        } else {
            logger.notice("free space in \(diskSpace.directory.path) is above the reserve again: taking writes")
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

    /// Hands leadership to the most caught-up voter; returns it, or nil when there is none.
    @discardableResult
    private func transferLeadership(amongActiveAtRandom: Bool = false) -> NodeID? {
        let status = node.status()
        guard status.role == .leader else { return nil }
        let voters = node.membership
        let candidates = status.progress.filter { member, progress in
            member != node.id && voters.isVoter(member)
                && (!amongActiveAtRandom || (progress.isRecentlyActive && progress.state == .replicate))
        }
        guard let best = candidates.values.map(\.match).max() else { return nil }
        let mostCaughtUp = candidates.filter { $0.value.match == best }.map(\.key).sorted { $0.rawValue < $1.rawValue }
        let target = amongActiveAtRandom ? mostCaughtUp.randomElement() : mostCaughtUp.first
        guard let target, (try? node.transferLeadership(to: target)) != nil else { return nil }
        return target
    }

    func replicationError(for error: RaftRequestError) -> ReplicationError {
        switch error {
        case .notLeader(let hint):
            if let hint, let leader = peersByID[hint.rawValue] { return .notLeader(leader) }
            return .noLeader
        case .leadershipTransferInProgress, .unknownNode: return .noLeader
        case .proposalDropped, .readIndexDropped: return .timedOut
        case .membershipChangeInProgress, .invalidMembershipChange, .learnerNotCaughtUp, .wouldLoseQuorum: return .timedOut
        }
    }

    // MARK: Ready

    private func processReadies() {
        // A new read context per turn: reads of the next turn ask for a fresh index.
        if readsAwaitingIndex[nextReadContext] != nil { nextReadContext += 1 }
        while node.hasReady {
            let ready = node.ready()
            // Before sending: a member added by this Ready's entries needs its link already.
            noteMembership()
            if let softState = ready.softState {
                noteOwnRemoval(becoming: softState.role)
                logRoleChange(softState)
            }
            // A leader's messages may go out while it writes (etcd's server does the same, Raft
            // thesis §10.2.1): they are appends and heartbeats, and a commit index in them
            // never counts the leader's copy of entries that are not yet durable, because
            // followers can only acknowledge entries of an earlier Ready, persisted before
            // its `advance`. Followers must persist before they answer.
            let sendsFirst = ready.canSendBeforePersisting
            if sendsFirst { route(ready.messages) }
            // The links can send now: what the replies caused is queued, and a leader's commit
            // index goes out with the next appends rather than after their round trip.
            resumeLinks()
            guard finish(ready, messagesSent: sendsFirst) else { return }
        }
    }

    /// Persists and applies `ready`, then sends, answers and advances; false when the disk is
    /// full, in which case `ready` is held to be tried again.
    private func finish(_ ready: Ready, messagesSent: Bool, isRetry: Bool = false) -> Bool {
        stampCommitted(ready.committedEntries, at: .now)
        do {
            var persisting = ready
            if ApplyBeforePersisting.isPossible(for: ready) {
                var applying = ready
                (applying.entries, applying.hardState, applying.mustSync) = ([], nil, false)
                let outcomes = try persistAndApply(applying)
                let appliedAt = ContinuousClock.now
                recordFollowerStages(persisted: [], applied: ready.committedEntries, at: appliedAt)
                deliver(outcomes, of: ready.committedEntries, appliedAt: appliedAt)
                persisting.committedEntries = []
            }
            let outcomes = try persistAndApply(persisting)
            let persistedAt = ContinuousClock.now
            stampPersisted(ready.entries, at: persistedAt)
            recordFollowerStages(persisted: ready.entries, applied: persisting.committedEntries, at: persistedAt)
            if !messagesSent { route(ready.messages) }
            if ready.snapshot != nil { listener.didReplaceState() }
            deliver(outcomes, of: persisting.committedEntries, appliedAt: persistedAt)
        } catch where StorageFailure.isRetryable(error) {
            if !isRetry {
                logger.warning("""
                    cannot write to \(database.directory.path) (\(error)): holding this batch and retrying; \
                    writes and linearizable reads are refused (503 storage_full) until it is written
                    """)
            }
            heldReady = (ready, messagesSent)
            nextStorageRetry = .now + .milliseconds(250)
            return false
        } catch {
            // Anything but a full or failing disk is a bug: stop rather than guess (etcd does the same).
            fatalError("persisting a Raft batch failed: \(error)")
        }
        for readState in ready.readStates { indexKnown(readState) }
        node.advance(ready)
        answerReads()
        takeSnapshotIfDue()
        return true
    }

    /// Answers the writes whose entries were applied, and tells the listener (long-polls).
    private func deliver(
        _ outcomes: [(index: LogIndex, term: Term, result: ChatResult?)], of committed: [Entry],
        appliedAt: ContinuousClock.Instant
    ) {
        stampApplied(committed, at: appliedAt)
        answerProposals(outcomes)
        answerMembershipChanges(outcomes)
        listener.didApply(outcomes.compactMap { try? $0.result?.get() })
    }

    /// The node is unchanged since the held Ready was taken (it was frozen), and the failed
    /// transaction rolled back, so persisting that same Ready now is exactly what was due then
    /// (committed entries applied before the failure are skipped: they are below the applied index).
    private func retryHeldReady() {
        guard let held = heldReady else { return }
        heldReady = nil
        if finish(held.ready, messagesSent: held.messagesSent, isRetry: true) {
            logger.notice("writing to \(database.directory.path) works again: the held batch is persisted")
        }
    }

    /// A leader whose own removal committed steps down (`stepDownIfRemoved`). Only a leader
    /// can be sure such a configuration is about this very replica: a replica catching up
    /// also meets configurations without its id, those made before its id was added again.
    private func noteOwnRemoval(becoming role: RaftRole) {
        if isLeading && role != .leader && !node.membership.contains(node.id) && !node.hasMembershipChangeInFlight {
            ownRemovalIndex = node.membershipIndex
        }
        isLeading = role == .leader
    }

    /// Why a leader of `ledTerm` no longer leads, now in `term`.
    static func stepDownReason(ledTerm: UInt64, term: UInt64, isMember: Bool) -> String {
        if !isMember { return "it was removed from the cluster" }
        if term > ledTerm { return "another replica started term \(term) (a handover, or it heard from no leader in time)" }
        return "fewer than a majority of the voters answered it within an election timeout"
    }

    /// Tells the operator about elections and leadership: what a replica did and in which term.
    private func logRoleChange(_ softState: SoftState) {
        let term = node.term.rawValue
        if let led = ledTerm, softState.role != .leader {
            ledTerm = nil
            logger.notice("stepped down as the leader of term \(led): \(Self.stepDownReason(ledTerm: led, term: term, isMember: node.membership.contains(node.id)))")
        }
        switch softState.role {
        case .leader:
            ledTerm = term
            logger.notice("became the leader in term \(term)")
        case .candidate:
            logger.notice("campaigning for leadership in term \(term)")
        case .preCandidate:
            logger.info("no leader heard from: asking the others whether an election for term \(term + 1) could be won")
        case .follower:
            if let leader = softState.leader {
                logger.notice("following leader n\(leader.rawValue) in term \(term)")
            } else {
                logger.info("follower without a known leader in term \(term)")
            }
        }
    }

    /// Messages to a peer whose request awaits this turn's answer go in that answer, except
    /// snapshot messages: only the peer link uploads the state file they stand for.
    private func route(_ messages: [RaftMessage]) {
        guard !pendingReplies.isEmpty else { return send(messages) }
        var outgoing: [RaftMessage] = []
        for message in messages {
            if case .snapshotChunk = message.kind {
                outgoing.append(message)
            } else if pendingReplies[message.to] != nil {
                replies[message.to, default: []].append(message)
            } else {
                outgoing.append(message)
            }
        }
        if !outgoing.isEmpty { send(outgoing) }
    }

    private func resumeLinks() {
        guard !linksToResume.isEmpty else { return }
        let resuming = linksToResume
        linksToResume = []
        for resume in resuming { resume() }
    }

    /// Answers the peers' requests of this turn, after everything they caused was persisted.
    private func answerPeers() {
        for (peer, responders) in pendingReplies {
            responders.first?.answer(PeerTransport.replyResponse(replies[peer] ?? []))
            for extra in responders.dropFirst() { extra.answer(PeerTransport.replyResponse([])) }
        }
        pendingReplies = [:]
        replies = [:]
    }

    /// On failure what the transaction changed in memory is put back, as the transaction was:
    /// the applied index, the sizes and the storage's mirror of the log.
    private func persistAndApply(_ ready: Ready) throws -> [(index: LogIndex, term: Term, result: ChatResult?)] {
        let (applied, counted) = (appliedIndex, sizes)
        sessionChanges = SessionChanges()
        do {
            let outcomes = try persistAndApplyOnce(ready)
            database.sessions.apply(sessionChanges)
            return outcomes
        } catch {
            (appliedIndex, sizes) = (applied, counted)
            reloadStorageMirror()
            throw error
        }
    }

    private func reloadStorageMirror() {
        do {
            try storage.reload()
        } catch {
            fatalError("reading the Raft log back after a failed write failed: \(error)")
        }
    }

    private func persistAndApplyOnce(_ ready: Ready) throws -> [(index: LogIndex, term: Term, result: ChatResult?)] {
        guard let snapshot = ready.snapshot else {
            // Without new entries, term or vote there is nothing Raft needs on disk: applied
            // state lost in a crash is applied again from the log (the applied index rolls
            // back with it), so this commit need not wait for an fsync.
            return try database.write(durably: ready.mustSync) { db in try persistAndApply(ready, in: db) }
        }
        guard let file = incomingSnapshots.completedFile(for: snapshot.metadata) else {
            // The transport delivers a snapshot message only once its whole file is here.
            fatalError("the state file for the snapshot at \(snapshot.metadata.index) is missing")
        }
        let outcomes = try database.writeWithoutTransaction { db in
            try StateFile.withAttached(file, to: db) {
                var outcomes: [(index: LogIndex, term: Term, result: ChatResult?)] = []
                try db.inTransaction {
                    try storage.installSnapshot(snapshot.metadata, in: db)
                    let fileApplied = LogIndex(UInt64(max(0, try StateFile.replaceChatState(in: db))))
                    appliedIndex = max(snapshot.metadata.index, fileApplied)
                    try ReplicaStateTable.set(.appliedIndex, to: Int64(appliedIndex.rawValue), in: db)
                    // The one count after a snapshot, here on the driver thread; it is kept from then on.
                    sizes = try ChatQueries.sizes(in: db)
                    outcomes = try persistAndApply(ready, in: db)
                    return .commit
                }
                return outcomes
            }
        }
        snapshotsInstalled += 1
        // Every session may have changed: read them all again, and drop the changes noted.
        do {
            try database.read { db in try database.sessions.reload(from: db) }
        } catch {
            // An empty table is safe, only slower: every token is then looked up in SQLite.
            database.sessions.removeAll()
            logger.warning("reading the sessions of the installed snapshot failed (\(error)); looking tokens up on disk")
        }
        sessionChanges = SessionChanges()
        incomingSnapshots.removeCompleted(upTo: snapshot.metadata.index)
        logger.info("installed a snapshot at index \(snapshot.metadata.index); the state stands at \(appliedIndex)")
        return outcomes
    }

    /// Appends entries, records the hard state and applies committed entries in `db`'s transaction.
    private func persistAndApply(_ ready: Ready, in db: Database) throws -> [(index: LogIndex, term: Term, result: ChatResult?)] {
        try storage.append(ready.entries, in: db)
        if let hardState = ready.hardState { try storage.setHardState(hardState, in: db) }
        var outcomes: [(index: LogIndex, term: Term, result: ChatResult?)] = []
        let tally = SizeTally()
        let sqliteStore = SQLiteChatStore(db: db, tally: tally, sessionChanges: sessionChanges)
        try TransactionChatStore.applying(over: sqliteStore) { chatStore in
            for entry in ready.committedEntries where entry.index > appliedIndex {
                precondition(entry.index.rawValue == appliedIndex.rawValue + 1, "entries are applied in order, once")
                var result: ChatResult?
                if entry.kind == .command && !entry.isNoOp {
                    let command = try ChatCommandCodec.decode(entry.data) {
                        try JSONDecoder().decode(ChatCommand.self, from: Data($0))
                    }
                    result = try machine.apply(command, to: chatStore)
                }
                appliedIndex = entry.index
                outcomes.append((entry.index, entry.term, result))
            }
        }
        if !outcomes.isEmpty {
            try ReplicaStateTable.set(.appliedIndex, to: Int64(appliedIndex.rawValue), in: db)
        }
        // A transaction that fails to commit stops the replica, so the change can be taken now.
        sizes.accounts += tally.change.accounts
        sizes.sessions += tally.change.sessions
        sizes.messages += tally.change.messages
        return outcomes
    }

    /// A follower notes when appends reached the driver, to time their entries' stages.
    private func noteEntriesTaken(_ messages: [RaftMessage]) {
        guard node.role == .follower else { return }
        let now = ContinuousClock.now
        for message in messages {
            guard case .append(let append) = message.kind, let last = append.entries.last else { continue }
            // One stamp per batch, at its last entry: the entries of a batch share their stages.
            if entryTaken.count < 4096 { entryTaken[last.index] = now }
        }
    }

    /// Records a follower's stages for the entries it persisted and applied at `now`.
    private func recordFollowerStages(persisted: [Entry], applied: [Entry], at now: ContinuousClock.Instant) {
        guard node.role == .follower else {
            // Stamps of a follower that became something else would time nothing it did.
            entryTaken = [:]
            entryPersisted = [:]
            return
        }
        if !entryTaken.isEmpty, let last = persisted.last?.index {
            let done = entryTaken.filter { $0.key <= last }
            entryTaken = entryTaken.filter { $0.key > last }
            for (index, taken) in done {
                recordStage("follower_persist", now - taken)
                if entryPersisted.count < 4096 { entryPersisted[index] = now }
            }
        }
        if !entryPersisted.isEmpty, let last = applied.last?.index {
            let done = entryPersisted.filter { $0.key <= last }
            entryPersisted = entryPersisted.filter { $0.key > last }
            for (_, persistedAt) in done { recordStage("follower_commit_apply", now - persistedAt) }
        }
    }

    /// The writes waiting on these entries learned, at `instant`, that they are committed
    /// (stamped before persisting), that the leader's copy is on disk, or that they are applied.
    private func stampCommitted(_ entries: [Entry], at instant: ContinuousClock.Instant) {
        guard !proposals.isEmpty else { return }
        for entry in entries { proposals[entry.index]?.timeline?.committed = instant }
    }

    private func stampPersisted(_ entries: [Entry], at instant: ContinuousClock.Instant) {
        guard !proposals.isEmpty else { return }
        for entry in entries { proposals[entry.index]?.timeline?.persisted = instant }
    }

    private func stampApplied(_ entries: [Entry], at instant: ContinuousClock.Instant) {
        guard !proposals.isEmpty else { return }
        for entry in entries { proposals[entry.index]?.timeline?.applied = instant }
    }

    private func answerProposals(_ outcomes: [(index: LogIndex, term: Term, result: ChatResult?)]) {
        for outcome in outcomes {
            guard let pending = proposals.removeValue(forKey: outcome.index) else { continue }
            pending.timeline?.resumed = .now
            if pending.term == outcome.term, let result = outcome.result {
                pending.complete(.success(result))
            } else {
                // Another leader's entry took this index: the proposal was lost, a retry is safe.
                pending.complete(.failure(.timedOut))
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

    /// Records a snapshot at the applied index once enough entries were applied since the last
    /// one, and compacts the log behind it. The state is already in the database, so this is
    /// only metadata and a delete; a follower that needs the state gets a copy (`StateFile`).
    private func takeSnapshotIfDue() {
        // Right after installing a snapshot the state can be ahead of the log.
        let index = min(appliedIndex, storage.lastIndex())
        let every = configuration.tuning.snapshotEveryEntries
        let snapshotIndex = storage.latestSnapshotIndex
        guard index > snapshotIndex, index.rawValue >= snapshotIndex.rawValue + every else { return }
        // A follower receiving a state file will next need the entries after the snapshot's
        // index; compacting them now (or replacing the snapshot) would send it round again.
        // The deferral is bounded, so a follower that never finishes cannot grow the log forever.
        let isSendingSnapshot = node.status().progress.values.contains { $0.state == .snapshot && $0.isRecentlyActive }
        if isSendingSnapshot && index.rawValue < snapshotIndex.rawValue + 5 * every { return }
        guard ContinuousClock.now >= nextSnapshotAttempt else { return }
        do {
            try database.write { db in
                try storage.createSnapshot(
                    at: index, membership: node.membership(at: index),
                    retainedEntries: configuration.tuning.retainedEntries, in: db)
            }
        } catch where StorageFailure.isRetryable(error) {
            reloadStorageMirror()
            logger.warning("cannot save a snapshot at index \(index) (\(error)); trying again in 5 s")
            nextSnapshotAttempt = .now + .seconds(5)
            return
        } catch {
            fatalError("saving a snapshot failed: \(error)")
        }
        incomingSnapshots.removeCompleted(upTo: index)
        logger.info("took a snapshot at index \(index)")
    }

    // MARK: Time-outs and status

    private func expireRequests(now: ContinuousClock.Instant) {
        for (index, pending) in proposals where pending.deadline <= now {
            proposals[index] = nil
            pending.complete(.failure(.timedOut))
        }
        for (index, pending) in membershipProposals where pending.deadline <= now {
            membershipProposals[index] = nil
            pending.continuation.resume(throwing: MembershipChangeError.replication(.timedOut))
        }
        let noLeader: ReplicationError = node.leader == nil ? .noLeader : .timedOut
        for (context, pending) in readsAwaitingIndex where pending.deadline <= now {
            readsAwaitingIndex[context] = nil
            node.abandonRead(context: context)
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
            case .propose(_, _, let complete): complete(.failure(error))
            case .read(let continuation): continuation.resume(throwing: error)
            case .messages(_, let responder, let resume):
                responder?.answer(APIError.shuttingDown.response)
                resume?()
            case .changeMembership(_, let continuation): continuation.resume(throwing: MembershipChangeError.replication(error))
            default: break
            }
        }
        for responder in pendingReplies.values.joined() {
            responder.answer(APIError.shuttingDown.response)
        }
        pendingReplies = [:]
        // Proposals and membership changes are in the log already, and stopping does not take
        // them out: a later leader may commit them.
        for pending in proposals.values { pending.complete(.failure(.stoppedBeforeConfirming)) }
        for pending in readsAwaitingIndex.values { for continuation in pending.continuations { continuation.resume(throwing: error) } }
        for waiting in readsAwaitingApply { for continuation in waiting.read.continuations { continuation.resume(throwing: error) } }
        for pending in membershipProposals.values {
            pending.continuation.resume(throwing: MembershipChangeError.replication(.stoppedBeforeConfirming))
        }
        membershipProposals = [:]
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
        let membership = node.membership
        let members = membership.members.map { member in
            ClusterStatus.Member(
                address: peersByID[member.rawValue] ?? PeerAddress(id: Int(member.rawValue), url: ""),
                role: membership.isVoter(member) ? .voter : .learner,
                matchIndex: status.role == .leader
                    ? (member == node.id ? Int64(status.lastIndex.rawValue) : status.progress[member].map { Int64($0.match.rawValue) })
                    : nil,
                isReachable: status.role == .leader ? (member == node.id || status.progress[member]?.isReachable == true) : nil)
        }
        var clusterStatus = ClusterStatus(
            id: identity.replicaID, role: role, term: Int64(status.term.rawValue), leader: leader,
            commitIndex: Int64(status.commit.rawValue), appliedIndex: Int64(appliedIndex.rawValue), members: members,
            isReady: leader != nil && appliedIndex >= status.commit && heldReady == nil && hearsFromItsLeader(status.role))
        clusterStatus.clusterID = identity.clusterID
        clusterStatus.lastIndex = Int64(status.lastIndex.rawValue)
        clusterStatus.snapshotsInstalled = snapshotsInstalled
        clusterStatus.configurationIndex = Int64(node.membershipIndex.rawValue)
        clusterStatus.leaderContact = status.role == .leader ? .now : leaderContact
        clusterStatus.ownRemovalIndex = ownRemovalIndex.map { Int64($0.rawValue) }
        clusterStatus.sizes = sizes
        return clusterStatus
    }

    /// Whether the leader it names still speaks to it: a learner never campaigns, so it names a
    /// dead leader for as long as no other one speaks up (found by probing: it said it was ready).
    private func hearsFromItsLeader(_ role: RaftRole) -> Bool {
        if role == .leader { return true }
        return leaderContact.map { ContinuousClock.now - $0 < configuration.tuning.electionTimeout * 2 } ?? false
    }
}
