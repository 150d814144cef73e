/// Every tunable limit of a replica, validated once by `validate()` before a
/// `RaftNode` is built. Times are in logical ticks: the caller decides how long
/// a tick lasts in wall-clock time (for example 100 ms).
public struct RaftConfig: Sendable, Hashable {
    /// This replica's identifier; must be one of `voters`.
    public var id: NodeID
    /// The voters a new cluster starts with (1 to 7 replicas, including `id`), used only
    /// while neither the log nor a snapshot names a configuration. Empty for a replica
    /// that joins an existing cluster: it learns its configuration from the leader.
    public var voters: [NodeID]
    /// A follower that hears nothing from a leader for a random number of
    /// ticks in `electionTick ..< 2 * electionTick` starts an election.
    public var electionTick: Int = 10
    /// A leader sends heartbeats every `heartbeatTick` ticks. Must be well below `electionTick`.
    public var heartbeatTick: Int = 1
    /// The last index the application has applied to its state machine, given
    /// on restart so that already-applied entries are not handed out again.
    public var appliedIndex: LogIndex = 0
    /// A learner is promoted to voter only when its log is at most this many entries
    /// behind the leader's, so that a new voter does not stall commits while it catches up.
    public var maxPromotionLag: Int = 1000
    /// Seeds the generator that randomizes election timeouts.
    public var randomSeed: UInt64 = 0
    /// Most entries carried by one append message.
    public var maxEntriesPerMessage: Int = 256
    /// Most entry bytes carried by one append message (at least one entry is always sent).
    public var maxBytesPerMessage: Int = 1 << 20
    /// Most append messages in flight to one follower in the replicate state.
    public var maxInflightMessages: Int = 64
    /// Most entry bytes in flight to one follower in the replicate state.
    public var maxInflightBytes: Int = 16 << 20
    /// A leader refuses proposals once this many bytes of payload are not yet applied.
    public var maxUncommittedEntriesBytes: Int = 64 << 20
    /// Most entry bytes handed out for applying in one `Ready` (at least one entry is always handed out).
    public var maxCommittedBytesPerReady: Int = 16 << 20
    /// Size of one InstallSnapshot chunk.
    public var snapshotChunkBytes: Int = 1 << 20
    /// Most snapshot chunks in flight to one follower.
    public var maxSnapshotChunksInFlight: Int = 4
    /// Most read-index requests a leader keeps waiting for confirmation.
    public var maxPendingReadIndexRequests: Int = 4096
    /// Run a pre-election first, so a replica that cannot win does not raise terms.
    public var preVote: Bool = true
    /// A leader steps down when it has not heard from a quorum for an election
    /// timeout, and followers ignore vote requests while they hear from a leader.
    public var checkQuorum: Bool = true

    public init(id: NodeID, voters: [NodeID], randomSeed: UInt64 = 0) {
        self.id = id
        self.voters = voters
        self.randomSeed = randomSeed
    }

    /// Where the application reaches the bootstrap voters; opaque to Raft (`Membership.addresses`).
    public var bootstrapAddresses: [NodeID: String] = [:]

    /// The configuration a new cluster starts with.
    public var bootstrapMembership: Membership { Membership(voters: voters, addresses: bootstrapAddresses) }

    /// Checks every field once, so the protocol code can rely on them.
    public func validate() throws(RaftConfigError) {
        if !voters.isEmpty {
            guard voters.count <= Membership.maxVoters else { throw .invalidVoterCount(voters.count) }
            guard Set(voters).count == voters.count else { throw .duplicateVoter }
            guard voters.contains(id) else { throw .selfNotAVoter(id) }
        }
        guard maxPromotionLag >= 0 else { throw .notPositive("maxPromotionLag") }
        guard heartbeatTick > 0 else { throw .notPositive("heartbeatTick") }
        guard electionTick > heartbeatTick else { throw .electionTickNotAboveHeartbeatTick }
        try requirePositive(maxEntriesPerMessage, "maxEntriesPerMessage")
        try requirePositive(maxBytesPerMessage, "maxBytesPerMessage")
        try requirePositive(maxInflightMessages, "maxInflightMessages")
        try requirePositive(maxInflightBytes, "maxInflightBytes")
        try requirePositive(maxUncommittedEntriesBytes, "maxUncommittedEntriesBytes")
        try requirePositive(maxCommittedBytesPerReady, "maxCommittedBytesPerReady")
        try requirePositive(snapshotChunkBytes, "snapshotChunkBytes")
        try requirePositive(maxSnapshotChunksInFlight, "maxSnapshotChunksInFlight")
        try requirePositive(maxPendingReadIndexRequests, "maxPendingReadIndexRequests")
    }

    private func requirePositive(_ value: Int, _ name: String) throws(RaftConfigError) {
        guard value > 0 else { throw .notPositive(name) }
    }
}

/// Why a `RaftConfig` was refused.
public enum RaftConfigError: Error, Hashable, Sendable {
    case invalidVoterCount(Int)
    case duplicateVoter
    case selfNotAVoter(NodeID)
    case notPositive(String)
    case electionTickNotAboveHeartbeatTick
    /// The applied index given on restart is beyond the stored log.
    case appliedIndexOutOfRange(applied: LogIndex, lastIndex: LogIndex)
}
