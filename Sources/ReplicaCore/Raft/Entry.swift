/// One slot of the replicated log. `data` is opaque to Raft: the application
/// encodes its command into it. An entry with empty `data` is the no-op a new
/// leader appends to commit entries of earlier terms; applications skip it.
/// A `.membership` entry is Raft's own: its `data` is an encoded `Membership`.
public struct Entry: Hashable, Sendable, Codable {
    public var term: Term
    public var index: LogIndex
    public var data: [UInt8]
    public var kind: EntryKind

    public init(term: Term, index: LogIndex, data: [UInt8] = [], kind: EntryKind = .command) {
        self.term = term
        self.index = index
        self.data = data
        self.kind = kind
    }

    /// True for the leader's no-op entry, which carries no command.
    public var isNoOp: Bool { kind == .command && data.isEmpty }

    /// The configuration this entry sets, if it is a membership entry that decodes.
    public var membership: Membership? {
        guard kind == .membership else { return nil }
        return try? Membership(decoding: data)
    }

    /// The size this entry counts for against the byte limits of `RaftConfig`.
    /// Sixteen bytes stand for the term and index so that empty entries still cost something.
    public var byteCount: Int { data.count + 16 }
}

/// The state that must be durable before any message of the same `Ready` is
/// sent: a replica that forgets its term or vote could vote twice in a term,
/// and one that forgets its commit index could not tell what it applied.
public struct HardState: Hashable, Sendable, Codable {
    public var term: Term
    public var vote: NodeID?
    public var commit: LogIndex

    public init(term: Term = 0, vote: NodeID? = nil, commit: LogIndex = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// What a log entry is for.
public enum EntryKind: UInt8, Hashable, Sendable, Codable {
    /// An application command (or, when empty, the leader's no-op).
    case command = 0
    /// A new cluster configuration (`Membership`), in force from the moment it is appended.
    case membership = 1
}

/// Identifies the last log entry a snapshot covers, and the configuration in force there.
public struct SnapshotMetadata: Hashable, Sendable, Codable {
    public var index: LogIndex
    public var term: Term
    /// The configuration of the last membership entry at or before `index`; empty for a
    /// cluster that never stored one (its members are the bootstrap voters).
    public var membership: Membership

    public init(index: LogIndex, term: Term, membership: Membership = Membership()) {
        self.index = index
        self.term = term
        self.membership = membership
    }
}

/// An application state-machine image covering every entry up to
/// `metadata.index`. Raft never looks inside `data`.
public struct Snapshot: Hashable, Sendable, Codable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }

    /// The snapshot every log starts from: nothing applied yet.
    public static let empty = Snapshot(metadata: SnapshotMetadata(index: 0, term: 0), data: [])

    public var isEmpty: Bool { metadata.index == 0 }
}
