/// A linearizable read waiting at the leader for a quorum to confirm it is
/// still the leader (Raft thesis §6.4, etcd's read-only "safe" mode).
struct PendingRead {
    var context: UInt64
    var requester: NodeID
    /// The leader's commit index when the request arrived.
    var index: LogIndex
    var acknowledgements: Set<NodeID>
}

/// The leader's queue of reads, in arrival order. A heartbeat response that
/// echoes the context of one read confirms it and every read queued before it:
/// the heartbeat left after all of them arrived.
struct PendingReads {
    private(set) var queue: [PendingRead] = []

    var count: Int { queue.count }
    var newestContext: UInt64? { queue.last?.context }

    mutating func add(context: UInt64, requester: NodeID, index: LogIndex, leader: NodeID) {
        queue.append(PendingRead(context: context, requester: requester, index: index, acknowledgements: [leader]))
    }

    /// Records that `voter` still follows the leader after read `context`
    /// arrived. Returns the reads now confirmed by `quorum` voters.
    mutating func acknowledge(context: UInt64, from voter: NodeID, quorum: Int) -> [PendingRead] {
        guard let position = queue.firstIndex(where: { $0.context == context }) else { return [] }
        queue[position].acknowledgements.insert(voter)
        guard queue[position].acknowledgements.count >= quorum else { return [] }
        let confirmed = Array(queue[...position])
        queue.removeSubrange(...position)
        return confirmed
    }

    mutating func removeAll() {
        queue.removeAll()
    }
}
