import ReplicaCore

/// The one interface handlers use to change state: submit a command, get the state machine's
/// result once it is durable and applied. A lone replica is a one-voter Raft cluster, so
/// `RaftReplicator` serves every size.
public protocol Replicator: Sendable {
    /// Where writes must go right now, checked before a handler does any expensive work.
    func writeRoute() -> WriteRoute
    /// Calls `completion` once `command` is durable and applied, with what applying it
    /// produced, or once it failed. `completion` may run on the Raft driver's thread: it must
    /// only hand the result on. `timeline`, when given, is stamped with the stages the command passes.
    func submit(
        _ command: ChatCommand, timeline: WriteTimeline?,
        then completion: @escaping @Sendable (Result<ChatResult, ReplicationError>) -> Void)
    /// Returns once this replica has applied every write committed before the call.
    func awaitLinearizableRead() async throws(ReplicationError)
    func status() -> ClusterStatus
    /// Proposes a configuration change at the leader; returns the member changed (nil once
    /// removed) after the change is committed and applied here.
    func changeMembership(_ change: MembershipChange) async throws(MembershipChangeError) -> ClusterStatus.Member?
    /// Sets what to do once this replica learns it is no longer a member: by then the removal
    /// is recorded in its data directory and logged.
    func whenRemoved(_ handler: @escaping @Sendable () -> Void)
    func shutdown()
}

extension Replicator {
    /// Waits until `command` is durable and applied, and returns what applying it produced.
    public func submit(_ command: ChatCommand, timeline: WriteTimeline?) async throws(ReplicationError) -> ChatResult {
        try await result(of: command, timeline: timeline).get()
    }

    /// Waits until `command` is durable and applied, or has failed.
    public func result(of command: ChatCommand, timeline: WriteTimeline?) async -> Result<ChatResult, ReplicationError> {
        await withCheckedContinuation { continuation in
            submit(command, timeline: timeline) { continuation.resume(returning: $0) }
        }
    }
}

public enum WriteRoute: Sendable, Equatable {
    case here
    case leader(PeerAddress)
    case noLeader
}

public enum ReplicationError: Error, Sendable, Equatable {
    case notLeader(PeerAddress)
    case noLeader
    /// The command may or may not have been committed; a retry with an idempotency key is safe.
    case timedOut
    case shuttingDown
    /// The replica stopped while the command was in its log: a later leader may still commit it.
    case stoppedBeforeConfirming
    /// The data directory's disk is (nearly) full: writes are refused until space returns.
    case storageFull
}

/// One replica's view of the cluster, as `GET /v1/cluster` shows it.
public struct ClusterStatus: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public enum Role: String, Sendable {
            case voter
            case learner
        }

        public var address: PeerAddress
        public var role: Role
        /// Known on the leader only.
        public var matchIndex: Int64?
        /// Whether it answered the leader within the last election timeout; known on the leader only.
        public var isReachable: Bool?

        public init(address: PeerAddress, role: Role = .voter, matchIndex: Int64? = nil, isReachable: Bool? = nil) {
            self.address = address
            self.role = role
            self.matchIndex = matchIndex
            self.isReachable = isReachable
        }
    }

    /// The cluster this replica belongs to; empty until it has bootstrapped or joined one.
    public var clusterID = ""
    /// The last index in this replica's log.
    public var lastIndex: Int64 = 0

    public var id: Int
    public var role: String
    public var term: Int64
    public var leader: PeerAddress?
    public var commitIndex: Int64
    public var appliedIndex: Int64
    public var members: [Member]
    /// Where the configuration `members` comes from stands: its entry's index, or the snapshot's
    /// (0 for the configuration the cluster was founded with). Committed once `commitIndex`
    /// reaches it.
    public var configurationIndex: Int64 = 0
    /// When this replica last heard from the leader it follows (on the leader: its last turn).
    var leaderContact: ContinuousClock.Instant?
    /// Set once this replica, as leader, committed its own removal: it is no longer a member.
    var ownRemovalIndex: Int64?
    /// A leader is known and this replica has applied up to the commit index it last heard.
    public var isReady: Bool
    /// Snapshots received from a leader and installed since this process started.
    public var snapshotsInstalled: Int = 0
    /// How many rows the applied state holds, kept by the applier (no table is scanned to read it).
    public var sizes: ChatStateSizes?

    public init(
        id: Int, role: String, term: Int64, leader: PeerAddress?, commitIndex: Int64, appliedIndex: Int64,
        members: [Member], isReady: Bool
    ) {
        self.id = id
        self.role = role
        self.term = term
        self.leader = leader
        self.commitIndex = commitIndex
        self.appliedIndex = appliedIndex
        self.members = members
        self.isReady = isReady
    }
}

/// Told about every applied command's outcome, after its transaction has committed.
public protocol AppliedListener: Sendable {
    func didApply(_ outcomes: [ChatOutcome])
    /// The whole state was replaced by a snapshot from the leader: anything may have changed.
    func didReplaceState()
}
