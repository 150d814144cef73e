/// A linearizable read waiting at the leader for a quorum to confirm it is
/// still the leader (Raft thesis §6.4, etcd's read-only "safe" mode).
struct PendingRead {
    /// The leader's own number for this request. Client contexts are only
    /// unique per requester, so heartbeats carry this number instead.
    var sequence: UInt64
    var context: UInt64
    var requester: NodeID
    /// The leader's commit index when the request arrived.
    var index: LogIndex
    var acknowledgements: Set<NodeID>
}

/// The leader's queue of reads, in arrival order. A heartbeat response that
/// echoes the sequence number of one read confirms it and every read queued
/// before it: that heartbeat left after all of them arrived.
struct PendingReads {
    private(set) var queue: [PendingRead] = []
    /// Never reset, so a late answer to an earlier heartbeat can never be
    /// mistaken for a confirmation of a newer read.
    private var nextSequence: UInt64 = 1

    var count: Int { queue.count }
    var newestSequence: UInt64? { queue.last?.sequence }

    /// `leader` is the leader's own acknowledgement, nil when it is not a voter.
    mutating func add(context: UInt64, requester: NodeID, index: LogIndex, leader: NodeID?) {
        queue.append(
            PendingRead(
                sequence: nextSequence, context: context, requester: requester, index: index,
                acknowledgements: leader.map { [$0] } ?? []))
        nextSequence += 1
    }

    /// Records that `voter` still followed the leader after read `sequence`
    /// arrived. Returns the reads now confirmed by `quorum` voters.
    mutating func acknowledge(sequence: UInt64, from voter: NodeID, quorum: Int) -> [PendingRead] {
        guard let position = queue.firstIndex(where: { $0.sequence == sequence }) else { return [] }
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
