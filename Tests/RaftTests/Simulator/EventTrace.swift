@testable import ReplicaCore

/// What happened in a simulated run, kept cheaply (no strings) in a ring of
/// the last events and formatted only when a run fails.
enum SimulationEvent {
    case delivered(RaftMessage)
    case dropped(RaftMessage)
    case crashed(NodeID, point: SimulatedCluster.CrashPoint, lostWrites: Int)
    case restarted(NodeID)
    case partitioned(side: [NodeID], other: [NodeID], oneWay: Bool)
    case healed
    case proposed(NodeID, proposalID: UInt64, index: LogIndex, term: Term)
    case roleChanged(NodeID, role: RaftRole, term: Term)
    case readRequested(NodeID, context: UInt64)
    case readAnswered(NodeID, context: UInt64, index: LogIndex)
    case snapshotInstalled(NodeID, index: LogIndex)
    case snapshotCreated(NodeID, index: LogIndex)
    case membershipApplied(NodeID, index: LogIndex, membership: Membership)
    case membershipProposed(NodeID, index: LogIndex, membership: Membership)
    case phase(String)
}

struct EventTrace {
    private var ring: [(step: Int, event: SimulationEvent)] = []
    private var start = 0
    let capacity: Int
    /// When true every event is also printed as it happens (seed replay).
    let isVerbose: Bool

    init(capacity: Int, isVerbose: Bool) {
        self.capacity = capacity
        self.isVerbose = isVerbose
    }

    mutating func record(_ event: @autoclosure () -> SimulationEvent, step: Int) {
        guard capacity > 0 || isVerbose else { return }
        let value = event()
        if isVerbose { print("[\(step)] \(Self.describe(value))") }
        guard capacity > 0 else { return }
        if ring.count < capacity {
            ring.append((step, value))
        } else {
            ring[start] = (step, value)
            start = (start + 1) % capacity
        }
    }

    func formatted() -> String {
        let ordered = ring[start...] + ring[..<start]
        return ordered.map { "[\($0.step)] \(Self.describe($0.event))" }.joined(separator: "\n")
    }

    static func describe(_ event: SimulationEvent) -> String {
        switch event {
        case .delivered(let message):
            "deliver \(message.from)->\(message.to) \(message.term) \(message.kind.tag)"
        case .dropped(let message):
            "drop \(message.from)->\(message.to) \(message.term) \(message.kind.tag)"
        case .crashed(let id, let point, let lostWrites):
            "crash \(id) \(point), \(lostWrites) unflushed writes lost"
        default:
            "\(event)"
        }
    }
}

extension RaftMessage.Kind {
    /// A short name for traces.
    var tag: String {
        switch self {
        case .voteRequest: "vote"
        case .voteResponse(let response): response.granted ? "vote+" : "vote-"
        case .preVoteRequest: "prevote"
        case .preVoteResponse(let response): response.granted ? "prevote+" : "prevote-"
        case .append(let request): "append(prev \(request.previousLogIndex), \(request.entries.count) entries)"
        case .appendResponse(let response): response.rejection == nil ? "appendOK(\(response.index))" : "appendReject"
        case .heartbeat: "heartbeat"
        case .heartbeatResponse: "heartbeatOK"
        case .snapshotChunk(let chunk): "snapshotChunk(\(chunk.offset))"
        case .snapshotResponse(let response): "snapshotAck(\(response.nextOffset))"
        case .readIndex: "readIndex"
        case .readIndexResponse: "readIndexOK"
        case .timeoutNow: "timeoutNow"
        case .transferLeader: "transferLeader"
        }
    }
}
