/// A snapshot of a replica's state for monitoring, tests and health checks.
public struct RaftStatus: Hashable, Sendable {
    public var id: NodeID
    public var role: RaftRole
    public var term: Term
    public var vote: NodeID?
    public var leader: NodeID?
    public var commit: LogIndex
    public var applied: LogIndex
    public var lastIndex: LogIndex
    /// The target of a leadership transfer in progress (leader only).
    public var leadershipTransferTarget: NodeID?
    /// On the leader: each voter's replication progress. Empty otherwise.
    public var progress: [NodeID: FollowerStatus]
}

/// The leader's view of one voter's log.
public struct FollowerStatus: Hashable, Sendable {
    public var match: LogIndex
    public var next: LogIndex
    public var state: ReplicationState
    public var isRecentlyActive: Bool
    /// Whether it answered within the last election timeout: a change of voters must leave a
    /// majority of such voters.
    public var isReachable: Bool
}
