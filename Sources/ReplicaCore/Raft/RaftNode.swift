/// One Raft replica as a deterministic state machine, modelled on etcd's raft.
///
/// It performs no I/O, owns no thread and reads no clock. Inputs are method
/// calls: `tick()` for time, `step(_:)` for messages from peers, `propose(_:)`,
/// `readIndex(context:)` and `transferLeadership(to:)` for client requests.
/// Output is collected into a `Ready` that the caller persists, sends and
/// applies before calling `advance(_:)` (see `Ready` for the exact order).
///
/// The caller's loop, run whenever an input was given:
///
///     while node.hasReady {
///         let ready = node.ready()
///         try storage.write(ready.snapshot, ready.entries, ready.hardState)  // one transaction
///         transport.send(ready.messages)
///         if let snapshot = ready.snapshot { stateMachine.restore(from: snapshot.data) }
///         for entry in ready.committedEntries where !entry.isNoOp { stateMachine.apply(entry) }
///         answerReads(ready.readStates)   // once applied index >= each state's index
///         node.advance(ready)
///     }
///
/// Snapshots are the application's decision: after applying up to some index
/// it stores its state as a snapshot at that index and compacts the log
/// before it (see `MemoryRaftStorage.createSnapshot(at:data:)` and `compact(upTo:)`).
/// Raft then sends that snapshot, in chunks, to followers that fell behind.
///
/// A `RaftNode` is not thread-safe: confine it to one actor or task.
public final class RaftNode {
    public let id: NodeID
    let config: RaftConfig
    /// Every other member, voter or learner: the leader replicates to all of them.
    var peers: [NodeID]
    /// The configuration `peers` and the leader's progress were last brought in line with.
    var knownMembership: Membership

    var log: RaftLog
    /// The current term. Never decreases (checked on every change).
    public private(set) var term: Term {
        didSet { invariant(term >= oldValue, "term went back") }
    }
    /// The candidate this replica voted for in `term`, if any.
    var vote: NodeID?
    public private(set) var role: RaftRole = .follower
    /// The leader of the current term, once known.
    public internal(set) var leader: NodeID?

    /// Ticks since the last election timeout reset (heard from a leader, voted, or checked quorum).
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0
    var random: SeededGenerator

    /// Votes received in the current (pre-)election.
    var votes: [NodeID: Bool] = [:]
    /// Leader only: every voter's replication progress, this replica included.
    var progress: [NodeID: Progress] = [:]
    /// Leader only: the voter leadership is being handed to.
    var leadershipTransferTarget: NodeID?
    var pendingReads = PendingReads()
    /// Reads that arrived before the leader committed an entry of its term:
    /// its commit index may still lag, so they wait (Raft thesis §6.4 step 1).
    var readsAwaitingFirstCommit: [(context: UInt64, requester: NodeID)] = []
    /// Reads this replica requested and has no answer to, oldest first, with the tick each was
    /// last asked at. A leader drops the reads it holds when it loses its term, and a forwarded
    /// request can be lost on the way: these are asked again of each new leader, and of the
    /// same one once an election timeout passed without an answer.
    var unansweredReads: [(context: UInt64, askedAt: Int)] = []
    /// The leader and term the unanswered reads were last asked of.
    var unansweredReadsAskedOf: (leader: NodeID, term: Term)?
    /// Ticks since this replica started, for the age of unanswered reads.
    var ticksElapsed = 0
    /// Ticks since this replica last heard from a leader (or led): a read that finds no leader
    /// waits for the next one only while an election may still be under way.
    var ticksSinceLeaderContact = 0
    /// Reused buffer for the quorum computation, so commits do not allocate.
    var matchScratch: [LogIndex] = []
    /// Leader only: payload bytes proposed and not yet applied.
    var uncommittedBytes = 0
    /// Follower only: a snapshot being received chunk by chunk.
    var snapshotAssembly: SnapshotAssembly?

    // Output waiting for the next `Ready`.
    var outbox: [RaftMessage] = []
    var readStates: [ReadState] = []
    /// Set when appends should go to every follower before the next `Ready`;
    /// deferring the broadcast batches many proposals into one message.
    var needsBroadcast = false
    var lastReadySoftState: SoftState
    var lastReadyHardState: HardState
    var isAwaitingAdvance = false

    /// Starts a replica from what `storage` holds: a fresh node on empty
    /// storage, or a restarted one (hard state, snapshot and log as persisted).
    /// `config.appliedIndex` tells which committed entries the application has
    /// already applied (at least the snapshot's index once it restored it).
    public init(config: RaftConfig, storage: any RaftStorage) throws {
        try config.validate()
        id = config.id
        self.config = config
        random = SeededGenerator(seed: config.randomSeed ^ (config.id.rawValue &* 0x9E37_79B9_7F4A_7C15))
        log = RaftLog(storage: storage, bootstrapMembership: config.bootstrapMembership)
        knownMembership = log.membership
        peers = log.membership.members.filter { $0 != config.id }
        let hardState = try storage.initialState()
        term = hardState.term
        vote = hardState.vote
        let applied = max(config.appliedIndex, log.applied)
        guard applied <= log.lastIndex() else {
            throw RaftConfigError.appliedIndexOutOfRange(applied: applied, lastIndex: log.lastIndex())
        }
        // An applied entry was committed, so the commit index is at least the
        // applied index even if a lazily written (`mustSync == false`) commit was lost.
        log.restoreCommit(max(hardState.commit, log.committed, applied))
        log.markApplied(upTo: applied)
        lastReadyHardState = hardState
        lastReadySoftState = SoftState(role: .follower, leader: nil)
        becomeFollower(term: term, leader: nil)
    }

    // MARK: Inputs

    /// Advances logical time by one tick: followers and candidates count
    /// towards an election, a leader towards its next heartbeat and quorum check.
    public func tick() {
        defer {
            ticksElapsed += 1
            askUnansweredReadsAgainIfDue(ticked: true)
        }
        ticksSinceLeaderContact = role == .leader ? 0 : ticksSinceLeaderContact + 1
        switch role {
        case .leader: tickLeader()
        case .follower, .preCandidate, .candidate: tickElection()
        }
    }

    /// Handles a message from a peer. Messages with an unknown version, for
    /// another node or from this node are dropped. Messages from replicas outside the
    /// configuration are handled like any other (thesis §4.1): a new member hears from a
    /// leader it does not know yet, and a lagging voter must grant its vote to a candidate
    /// its own older configuration does not list. A removed replica that keeps campaigning
    /// is held off by PreVote and the CheckQuorum lease.
    public func step(_ message: RaftMessage) {
        defer { askUnansweredReadsAgainIfDue() }
        guard message.version == RaftMessage.currentVersion, message.to == id, message.from != id else { return }
        if message.kind.isForwardedRequest {
            stepByRole(message)
            return
        }
        if message.term > term {
            guard handleHigherTerm(message) else { return }
        } else if message.term < term {
            handleLowerTerm(message)
            return
        }
        switch message.kind {
        case .voteRequest(let request):
            handleVoteRequest(request, from: message.from, term: message.term, isPreVote: false)
        case .preVoteRequest(let request):
            handleVoteRequest(request, from: message.from, term: message.term, isPreVote: true)
        default:
            stepByRole(message)
        }
    }

    /// Starts an election now, as if the election timeout had elapsed. Useful
    /// to bootstrap a cluster quickly and in tests.
    public func campaign() {
        defer { askUnansweredReadsAgainIfDue() }
        startElection()
    }

    /// Tells the leader that the last message to `peer` could not be sent,
    /// so it stops streaming to it and probes instead.
    public func reportUnreachable(_ peer: NodeID) {
        guard role == .leader, peer != id, progress[peer]?.state == .replicate else { return }
        progress[peer]?.becomeProbe()
    }

    private func stepByRole(_ message: RaftMessage) {
        switch role {
        case .leader: stepLeader(message)
        case .candidate, .preCandidate: stepCandidate(message)
        case .follower: stepFollower(message)
        }
    }

    // MARK: Term handling (etcd raft.go Step)

    /// A message from a higher term. Returns false if it must be ignored.
    private func handleHigherTerm(_ message: RaftMessage) -> Bool {
        switch message.kind {
        case .voteRequest(let request), .preVoteRequest(let request):
            // CheckQuorum lease: while this replica hears from a leader, a
            // replica that was partitioned away cannot depose it.
            let inLease = config.checkQuorum && leader != nil && electionElapsed < config.electionTick
            if inLease && !request.isLeadershipTransfer { return false }
        default:
            break
        }
        switch message.kind {
        case .preVoteRequest:
            // A pre-vote never changes this replica's term.
            break
        case .preVoteResponse(let response) where response.granted:
            // Granted pre-votes carry the term the candidate will use next.
            break
        case .append, .heartbeat, .snapshotChunk:
            becomeFollower(term: message.term, leader: message.from)
        default:
            becomeFollower(term: message.term, leader: nil)
        }
        return true
    }

    /// A message from a lower term: dropped, but a stale leader is told the
    /// newer term so it steps down (needed for liveness with CheckQuorum and
    /// PreVote, where a removed leader may otherwise never learn it).
    private func handleLowerTerm(_ message: RaftMessage) {
        switch message.kind {
        case .append, .heartbeat:
            if config.checkQuorum || config.preVote {
                send(.appendResponse(AppendResponse(index: 0)), to: message.from)
            }
        case .preVoteRequest:
            send(.preVoteResponse(VoteResponse(granted: false)), to: message.from)
        default:
            break
        }
    }

    // MARK: Role changes

    func becomeFollower(term newTerm: Term, leader newLeader: NodeID?) {
        reset(term: newTerm)
        role = .follower
        leader = newLeader
    }

    func becomePreCandidate() {
        invariant(role != .leader, "a leader cannot become a pre-candidate")
        // A pre-election changes neither term nor vote.
        votes = [:]
        role = .preCandidate
        leader = nil
    }

    func becomeCandidate() {
        invariant(role != .leader, "a leader cannot become a candidate")
        reset(term: term.next)
        vote = id
        role = .candidate
    }

    func becomeLeader() {
        invariant(role == .candidate, "only a candidate becomes leader")
        invariant(mayCampaign, "a replica that may not campaign became leader")
        reset(term: term)
        role = .leader
        leader = id
        resetProgress()
        progress[id]?.becomeReplicate()
        progress[id]?.isRecentlyActive = true
        // Raft §8: a no-op of the new term lets the leader commit (and learn
        // the commit index of) entries of earlier terms.
        appendAsLeader([])
        needsBroadcast = true
    }

    private func reset(term newTerm: Term) {
        if newTerm != term {
            term = newTerm
            vote = nil
            // A partial snapshot belongs to the leader that sent it; another leader's snapshot
            // at the same index may hold other bytes, so pieces of the two must never be joined.
            snapshotAssembly = nil
        }
        leader = nil
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = config.electionTick + Int(random.next() % UInt64(config.electionTick))
        leadershipTransferTarget = nil
        votes = [:]
        progress = [:]
        pendingReads.removeAll()
        readsAwaitingFirstCommit.removeAll()
        uncommittedBytes = 0
        needsBroadcast = false
    }

    private func resetProgress() {
        let lastIndex = log.lastIndex()
        for member in membership.members + [id] {
            let inflights = Inflights(capacity: config.maxInflightMessages, maxBytes: config.maxInflightBytes)
            let match: LogIndex = member == id ? lastIndex : 0
            progress[member] = Progress(match: match, next: lastIndex + 1, inflights: inflights)
        }
    }

    // MARK: Output

    func send(_ kind: RaftMessage.Kind, to peer: NodeID, term messageTerm: Term? = nil) {
        outbox.append(RaftMessage(from: id, to: peer, term: messageTerm ?? term, kind: kind))
    }

    var softState: SoftState { SoftState(role: role, leader: leader) }
    var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
}

extension RaftMessage.Kind {
    /// Client requests forwarded between replicas; like etcd's MsgProp they
    /// carry no term and skip the term checks.
    var isForwardedRequest: Bool {
        switch self {
        case .readIndex, .transferLeader: true
        default: false
        }
    }
}
