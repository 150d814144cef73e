import Testing
@testable import ReplicaCore

// Shared fixtures for the rule tables in this folder: one replica put into a
// given role and term, representative messages of every kind, and readers
// that pick one kind of message out of a `Ready`.

// MARK: Replicas in a chosen role

/// Builds replica `id` of `voters` in `role` at `term`, with a log holding one
/// entry per element of `logTerms` (the i-th of term `logTerms[i]`), and drains
/// its output so a test sees only its reaction to what it does next.
///
/// A leader gets there by winning an election from `term - 1`, so its log ends
/// with the no-op of `term`; a candidate by campaigning from `term - 1`; a
/// pre-candidate by starting a pre-election at `term` (PreVote is forced on).
func makeReplica(
    _ id: NodeID = 1, role: RaftRole, term: Term, logTerms: [UInt64] = [], commit: LogIndex = 0,
    voters: [NodeID] = [1, 2, 3], configure: (inout RaftConfig) -> Void = { _ in }
) -> RaftNode {
    precondition(logTerms.allSatisfy { $0 <= term.rawValue }, "a log cannot hold entries of a later term")
    let startTerm: Term
    switch role {
    case .follower, .preCandidate:
        startTerm = term
    case .candidate, .leader:
        precondition(term.rawValue >= 1, "an election raises the term to at least 1")
        startTerm = Term(term.rawValue - 1)
    }
    let storage = storage(withTerms: logTerms, hardState: HardState(term: startTerm, commit: commit))
    let node = makeNode(id, voters: voters, storage: storage) { config in
        configure(&config)
        if role == .preCandidate { config.preVote = true }
    }
    switch role {
    case .follower: break
    case .preCandidate: node.campaign(.preElection)
    case .candidate: node.campaign(.election)
    case .leader: node.becomeLeaderForTest()
    }
    // Recorded rather than trapped, so a core that cannot even reach the role fails
    // the tests that need it instead of the whole test process.
    if node.role != role || node.term != term {
        Issue.record("fixture failed to reach \(role) \(term): got \(ReplicaSummary(node))")
    }
    _ = node.takeMessages()
    return node
}

/// The fields of a replica that the term and election rules talk about, so a
/// rule can say "nothing changed" in one comparison and print what did.
struct ReplicaSummary: Equatable, CustomStringConvertible {
    var role: RaftRole
    var term: Term
    var vote: NodeID?
    var leader: NodeID?
    var commit: LogIndex
    var lastIndex: LogIndex

    init(_ node: RaftNode) {
        role = node.role
        term = node.term
        vote = node.vote
        leader = node.leader
        commit = node.log.committed
        lastIndex = node.log.lastIndex()
    }

    var description: String {
        "\(role) \(term) vote=\(vote.map(\.description) ?? "-") leader=\(leader.map(\.description) ?? "-") "
            + "commit=\(commit) last=\(lastIndex)"
    }
}

extension RaftNode {
    /// Advances logical time by `count` ticks.
    func tick(times count: Int) {
        for _ in 0..<count { tick() }
    }

    /// The terms of the whole log, index 1 first (the log must not be compacted).
    var logTerms: [UInt64] {
        let last = log.lastIndex()
        guard last >= 1 else { return [] }
        return (1...last.rawValue).map { log.term(at: LogIndex($0))?.rawValue ?? 0 }
    }

    /// The read states of every pending `Ready`, which are processed.
    func takeReadStates() -> [ReadState] {
        var states: [ReadState] = []
        while hasReady { states += processReady().readStates }
        return states
    }
}

// MARK: Building messages

/// A message to replica 1 unless said otherwise.
func incoming(_ kind: RaftMessage.Kind, from sender: NodeID, to receiver: NodeID = 1, term: Term) -> RaftMessage {
    RaftMessage(from: sender, to: receiver, term: term, kind: kind)
}

/// Every kind of message a peer sends with its term, each as one harmless
/// representative, for tables that range over message kinds.
enum MessageSample: String, CaseIterable, Sendable, CustomStringConvertible {
    case append
    case heartbeat
    case snapshotChunk
    case voteRequest
    case preVoteRequest
    case voteResponse
    case preVoteResponse
    case appendResponse
    case heartbeatResponse
    case snapshotResponse
    case timeoutNow

    var description: String { rawValue }

    /// Whether only a leader sends this kind.
    var isFromLeader: Bool { [.append, .heartbeat, .snapshotChunk, .timeoutNow].contains(self) }

    /// The representative: an empty append after index 0, a heartbeat that
    /// commits nothing, an up-to-date (pre-)vote request, granted (pre-)votes, a
    /// first chunk of a snapshot at index 0 (covered by any log), and so on.
    var kind: RaftMessage.Kind {
        let anyLog = VoteRequest(lastLogIndex: 100, lastLogTerm: 100)
        let snapshot = SnapshotMetadata(index: 0, term: 0)
        switch self {
        case .append:
            return .append(AppendRequest(previousLogIndex: 0, previousLogTerm: 0, entries: [], commit: 0))
        case .heartbeat: return .heartbeat(Heartbeat(commit: 0))
        case .snapshotChunk:
            return .snapshotChunk(SnapshotChunk(metadata: snapshot, offset: 0, totalByteCount: 1, data: [0], isLast: true))
        case .voteRequest: return .voteRequest(anyLog)
        case .preVoteRequest: return .preVoteRequest(anyLog)
        case .voteResponse: return .voteResponse(VoteResponse(granted: true))
        case .preVoteResponse: return .preVoteResponse(VoteResponse(granted: true))
        case .appendResponse: return .appendResponse(AppendResponse(index: 0))
        case .heartbeatResponse: return .heartbeatResponse(HeartbeatResponse())
        case .snapshotResponse: return .snapshotResponse(SnapshotResponse(metadata: snapshot, nextOffset: 0))
        case .timeoutNow: return .timeoutNow
        }
    }
}

// MARK: Reading messages

extension RaftMessage.Kind {
    /// The case name, for failure messages.
    var name: String {
        switch self {
        case .voteRequest: "voteRequest"
        case .voteResponse: "voteResponse"
        case .preVoteRequest: "preVoteRequest"
        case .preVoteResponse: "preVoteResponse"
        case .append: "append"
        case .appendResponse: "appendResponse"
        case .heartbeat: "heartbeat"
        case .heartbeatResponse: "heartbeatResponse"
        case .snapshotChunk: "snapshotChunk"
        case .snapshotResponse: "snapshotResponse"
        case .readIndex: "readIndex"
        case .readIndexResponse: "readIndexResponse"
        case .timeoutNow: "timeoutNow"
        case .transferLeader: "transferLeader"
        }
    }
}

extension RaftMessage {
    var voteRequest: VoteRequest? { if case .voteRequest(let request) = kind { request } else { nil } }
    var preVoteRequest: VoteRequest? { if case .preVoteRequest(let request) = kind { request } else { nil } }
    var voteResponse: VoteResponse? { if case .voteResponse(let response) = kind { response } else { nil } }
    var preVoteResponse: VoteResponse? { if case .preVoteResponse(let response) = kind { response } else { nil } }
    var appendRequest: AppendRequest? { if case .append(let request) = kind { request } else { nil } }
    var appendResponse: AppendResponse? { if case .appendResponse(let response) = kind { response } else { nil } }
    var heartbeat: Heartbeat? { if case .heartbeat(let heartbeat) = kind { heartbeat } else { nil } }
    var heartbeatResponse: HeartbeatResponse? {
        if case .heartbeatResponse(let response) = kind { response } else { nil }
    }
    var snapshotResponse: SnapshotResponse? {
        if case .snapshotResponse(let response) = kind { response } else { nil }
    }
    var readIndexRequest: ReadIndexRequest? { if case .readIndex(let request) = kind { request } else { nil } }
    var readIndexResponse: ReadIndexResponse? {
        if case .readIndexResponse(let response) = kind { response } else { nil }
    }
    var isTimeoutNow: Bool { kind == .timeoutNow }

    /// "kind from→to term", for failure messages.
    var summary: String { "\(kind.name) \(from)→\(to) \(term)" }
}

extension Array where Element == RaftMessage {
    var summary: String { "[" + map(\.summary).joined(separator: ", ") + "]" }
}

// MARK: A tiny network

/// Replicas that exchange every message at once, for the few rules that need
/// a round trip between real replicas (a stale leader, a transfer).
struct RuleNetwork {
    var replicas: [NodeID: RaftNode]
    /// Messages to these replicas are dropped.
    var isolated: Set<NodeID> = []

    /// Delivers messages until none is left, for at most `maxRounds` rounds.
    /// Returns every message delivered.
    @discardableResult
    func settle(maxRounds: Int = 30) -> [RaftMessage] {
        var delivered: [RaftMessage] = []
        for _ in 0..<maxRounds {
            var sent: [RaftMessage] = []
            for id in replicas.keys.sorted() {
                sent += replicas[id]!.takeMessages()
            }
            if sent.isEmpty { return delivered }
            for message in sent where !isolated.contains(message.to) && !isolated.contains(message.from) {
                replicas[message.to]?.step(message)
                delivered.append(message)
            }
        }
        Issue.record("the rule network did not settle within \(maxRounds) rounds")
        return delivered
    }
}

/// Voters 1 through `count`.
func voterIDs(_ count: Int) -> [NodeID] {
    (1...UInt64(count)).map { NodeID($0) }
}
