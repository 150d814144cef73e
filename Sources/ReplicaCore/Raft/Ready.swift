/// The role a replica plays in its current term.
public enum RaftRole: String, Hashable, Sendable, Codable {
    case follower
    case preCandidate
    case candidate
    case leader
}

/// Volatile state worth reporting when it changes (not persisted).
public struct SoftState: Hashable, Sendable {
    public var role: RaftRole
    public var leader: NodeID?

    public init(role: RaftRole, leader: NodeID?) {
        self.role = role
        self.leader = leader
    }
}

/// A linearizable-read answer: once the application has applied up to
/// `index`, reading its state answers the read request tagged `context`.
public struct ReadState: Hashable, Sendable {
    public var context: UInt64
    public var index: LogIndex

    public init(context: UInt64, index: LogIndex) {
        self.context = context
        self.index = index
    }
}

/// One batch of work for the caller, taken with `RaftNode.ready()`.
///
/// The caller must handle it in this order, then call `RaftNode.advance(_:)`:
/// 1. Persist: install `snapshot` in storage if present, append `entries`
///    (overwriting stored entries from the first new index on), save
///    `hardState` if present — in one transaction, or at least in that order.
///    Flush to disk if `mustSync`.
/// 2. Send every message in `messages`. A vote or an acknowledgement is only
///    safe once durable, so in general: persist, then send. The one exception
///    (etcd's server makes it too) is a `Ready` whose `canSendBeforePersisting`
///    is set: its messages may be sent before or while persisting, provided
///    the caller handles each `Ready` fully (persist, then `advance`) before
///    stepping any answer to them. A commit index in them then never counts
///    the leader's copy of entries that are not yet durable.
/// 3. Apply: if `snapshot` is present, restore the state machine from it;
///    then apply `committedEntries` in order (skipping no-op entries). Applying
///    may happen in the same transaction as step 1.
/// 4. Answer reads in `readStates` once the applied index reaches their index.
///
/// `step`, `tick`, `propose` and the other inputs may be called while a
/// `Ready` is being handled; `ready()` may not be called again before `advance(_:)`.
public struct Ready: Sendable {
    /// Present when the role or leader changed since the last `Ready`.
    public var softState: SoftState?
    /// Present when term, vote or commit changed since the last `Ready`.
    public var hardState: HardState?
    /// A complete snapshot received from the leader, to install before anything else.
    public var snapshot: Snapshot?
    /// New log entries to persist before sending `messages`.
    public var entries: [Entry]
    /// Committed entries to apply, in index order.
    public var committedEntries: [Entry]
    /// Messages to send after persisting.
    public var messages: [RaftMessage]
    /// Answered read-index requests.
    public var readStates: [ReadState]

    /// Whether the write must reach the disk before messages are sent (entries,
    /// term or vote changed). A commit-only change may be written lazily:
    /// a lost commit index is relearned from the leader.
    public var mustSync: Bool

    /// Whether `messages` may be sent before or while the rest is persisted: set only for a
    /// `Ready` taken while this node leads and whose term and vote did not change, so its
    /// messages are appends and heartbeats, never a vote or an acknowledgement. The Gateway's
    /// driver and the simulator both take the order from here.
    public var canSendBeforePersisting: Bool = false

    public init(
        softState: SoftState? = nil, hardState: HardState? = nil, snapshot: Snapshot? = nil,
        entries: [Entry] = [], committedEntries: [Entry] = [], messages: [RaftMessage] = [],
        readStates: [ReadState] = [], mustSync: Bool = false
    ) {
        self.softState = softState
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
        self.committedEntries = committedEntries
        self.messages = messages
        self.readStates = readStates
        self.mustSync = mustSync
    }
}
