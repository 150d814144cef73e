/// A message between two replicas. The transport carries it opaquely, for
/// example as JSON (`Codable`), and hands it to the receiver's `RaftNode.step(_:)`.
///
/// `version` lets a future encoding change be detected: a replica drops a
/// message whose version it does not speak instead of misreading it.
public struct RaftMessage: Hashable, Sendable, Codable {
    /// The wire version this code writes and accepts.
    public static let currentVersion: UInt16 = 2

    public var version: UInt16
    public var from: NodeID
    public var to: NodeID
    /// The sender's term. Forwarded client requests (`readIndex`,
    /// `transferLeader`) carry 0 and skip the term checks, as proposals do in etcd.
    public var term: Term
    public var kind: Kind

    public init(from: NodeID, to: NodeID, term: Term, kind: Kind) {
        self.version = Self.currentVersion
        self.from = from
        self.to = to
        self.term = term
        self.kind = kind
    }

    public enum Kind: Hashable, Sendable, Codable {
        case voteRequest(VoteRequest)
        case voteResponse(VoteResponse)
        case preVoteRequest(VoteRequest)
        case preVoteResponse(VoteResponse)
        case append(AppendRequest)
        case appendResponse(AppendResponse)
        case heartbeat(Heartbeat)
        case heartbeatResponse(HeartbeatResponse)
        case snapshotChunk(SnapshotChunk)
        case snapshotResponse(SnapshotResponse)
        case readIndex(ReadIndexRequest)
        case readIndexResponse(ReadIndexResponse)
        case timeoutNow
        case transferLeader(TransferLeaderRequest)
    }
}

/// A (pre-)candidate asks for a vote, describing its log so the voter can
/// refuse candidates whose log is less up to date than its own.
public struct VoteRequest: Hashable, Sendable, Codable {
    public var lastLogIndex: LogIndex
    public var lastLogTerm: Term
    /// Set when the campaign follows a `timeoutNow`: voters then grant even
    /// though they still hear from the current leader.
    public var isLeadershipTransfer: Bool

    public init(lastLogIndex: LogIndex, lastLogTerm: Term, isLeadershipTransfer: Bool = false) {
        self.lastLogIndex = lastLogIndex
        self.lastLogTerm = lastLogTerm
        self.isLeadershipTransfer = isLeadershipTransfer
    }
}

public struct VoteResponse: Hashable, Sendable, Codable {
    public var granted: Bool
    public init(granted: Bool) { self.granted = granted }
}

/// AppendEntries: `entries` follow the entry at `previousLogIndex`, which the
/// follower must hold with `previousLogTerm`.
public struct AppendRequest: Hashable, Sendable, Codable {
    public var previousLogIndex: LogIndex
    public var previousLogTerm: Term
    public var entries: [Entry]
    /// The leader's commit index; the follower commits up to the smaller of
    /// this and the last entry it now knows matches the leader.
    public var commit: LogIndex

    public init(previousLogIndex: LogIndex, previousLogTerm: Term, entries: [Entry], commit: LogIndex) {
        self.previousLogIndex = previousLogIndex
        self.previousLogTerm = previousLogTerm
        self.entries = entries
        self.commit = commit
    }
}

public struct AppendResponse: Hashable, Sendable, Codable {
    /// On success, the last index known to match the leader. On rejection,
    /// the `previousLogIndex` of the rejected request.
    public var index: LogIndex
    /// Present when the append was rejected.
    public var rejection: AppendRejection?

    public init(index: LogIndex, rejection: AppendRejection? = nil) {
        self.index = index
        self.rejection = rejection
    }
}

/// The follower's hint for fast backtracking: the largest index at or below
/// the rejected position whose term is at most the leader's `previousLogTerm`,
/// with that term. The leader skips whole terms instead of single entries.
public struct AppendRejection: Hashable, Sendable, Codable {
    public var hintIndex: LogIndex
    public var hintTerm: Term

    public init(hintIndex: LogIndex, hintTerm: Term) {
        self.hintIndex = hintIndex
        self.hintTerm = hintTerm
    }
}

public struct Heartbeat: Hashable, Sendable, Codable {
    /// The leader's commit index, capped at what the follower is known to hold.
    public var commit: LogIndex
    /// The leader's sequence number of its newest pending read; the response
    /// echoes it so the leader knows a quorum still followed it after that read arrived.
    public var readSequence: UInt64?

    public init(commit: LogIndex, readSequence: UInt64? = nil) {
        self.commit = commit
        self.readSequence = readSequence
    }
}

public struct HeartbeatResponse: Hashable, Sendable, Codable {
    public var readSequence: UInt64?
    public init(readSequence: UInt64? = nil) { self.readSequence = readSequence }
}

/// One piece of an InstallSnapshot transfer. Chunks are sent one at a time
/// and acknowledged; a lost chunk is sent again.
public struct SnapshotChunk: Hashable, Sendable, Codable {
    public var metadata: SnapshotMetadata
    /// Position of `data` within the snapshot's bytes.
    public var offset: Int
    public var totalByteCount: Int
    public var data: [UInt8]
    /// True for the last chunk: the follower then installs the snapshot.
    public var isLast: Bool

    public init(metadata: SnapshotMetadata, offset: Int, totalByteCount: Int, data: [UInt8], isLast: Bool) {
        self.metadata = metadata
        self.offset = offset
        self.totalByteCount = totalByteCount
        self.data = data
        self.isLast = isLast
    }
}

/// Acknowledges snapshot chunks: the follower holds every byte before `nextOffset`.
public struct SnapshotResponse: Hashable, Sendable, Codable {
    public var metadata: SnapshotMetadata
    public var nextOffset: Int

    public init(metadata: SnapshotMetadata, nextOffset: Int) {
        self.metadata = metadata
        self.nextOffset = nextOffset
    }
}

/// A follower forwards a linearizable-read request to the leader.
public struct ReadIndexRequest: Hashable, Sendable, Codable {
    public var context: UInt64
    public init(context: UInt64) { self.context = context }
}

/// The leader's answer: reads are linearizable once the requester has
/// applied up to `index`.
public struct ReadIndexResponse: Hashable, Sendable, Codable {
    public var context: UInt64
    public var index: LogIndex

    public init(context: UInt64, index: LogIndex) {
        self.context = context
        self.index = index
    }
}

/// A follower forwards a leadership-transfer request to the leader.
public struct TransferLeaderRequest: Hashable, Sendable, Codable {
    public var target: NodeID
    public init(target: NodeID) { self.target = target }
}
