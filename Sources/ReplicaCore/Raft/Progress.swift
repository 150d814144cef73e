/// How the leader currently replicates to one follower (etcd's tracker states).
public enum ReplicationState: String, Hashable, Sendable, Codable {
    /// The follower's log position is unknown: send one append at a time and
    /// wait for its answer before sending more.
    case probe
    /// The follower is known to match: stream appends, up to the inflight bound.
    case replicate
    /// The follower needs compacted entries: send a snapshot, chunk by chunk.
    case snapshot
}

/// The leader's record of one follower's log.
struct Progress {
    /// The highest index known to match the leader's log.
    var match: LogIndex
    /// The next index to send.
    var next: LogIndex
    private(set) var state: ReplicationState = .probe
    /// In the probe state: an append was sent and its answer is awaited.
    var isProbeSent = false
    /// Set on every message from the follower; CheckQuorum clears it each election timeout.
    var isRecentlyActive = false
    var inflights: Inflights
    /// In the snapshot state: the snapshot being sent and how many of its
    /// bytes the follower acknowledged.
    private(set) var pendingSnapshot: SnapshotMetadata?
    var snapshotOffset = 0

    init(match: LogIndex, next: LogIndex, inflights: Inflights) {
        self.match = match
        self.next = next
        self.inflights = inflights
    }

    /// Whether the leader must hold back new appends to this follower.
    var isPaused: Bool {
        switch state {
        case .probe: isProbeSent
        case .replicate: inflights.isFull
        case .snapshot: true
        }
    }

    mutating func becomeProbe() {
        if state == .snapshot, let pendingSnapshot {
            next = max(match + 1, pendingSnapshot.index + 1)
        } else {
            next = match + 1
        }
        resetState(.probe)
    }

    mutating func becomeReplicate() {
        next = match + 1
        resetState(.replicate)
    }

    mutating func becomeSnapshot(_ metadata: SnapshotMetadata) {
        resetState(.snapshot)
        pendingSnapshot = metadata
    }

    private mutating func resetState(_ newState: ReplicationState) {
        state = newState
        isProbeSent = false
        pendingSnapshot = nil
        snapshotOffset = 0
        inflights.reset()
    }

    /// Records that the follower holds everything up to `index`. Returns true
    /// if that is news (match moved forward).
    mutating func update(acknowledged index: LogIndex) -> Bool {
        var updated = false
        if match < index {
            match = index
            updated = true
            isProbeSent = false
        }
        next = max(next, index + 1)
        return updated
    }

    /// Records that an append with `entryCount` entries ending before `next`
    /// was just sent.
    mutating func recordSent(entryCount: Int, bytes: Int) {
        switch state {
        case .replicate:
            guard entryCount > 0 else { return }
            let lastSent = next + UInt64(entryCount - 1)
            next = lastSent + 1
            inflights.add(lastIndex: lastSent, bytes: bytes)
        case .probe:
            isProbeSent = true
        case .snapshot:
            preconditionFailure("appending to a follower receiving a snapshot")
        }
    }

    /// Handles a rejected append at `rejected`. `matchHint` is where the
    /// follower's log may match. Returns false when the rejection is stale.
    mutating func backOff(rejected: LogIndex, matchHint: LogIndex) -> Bool {
        if state == .replicate {
            guard rejected > match else { return false }
            next = match + 1
            return true
        }
        guard next - 1 == rejected else { return false }
        next = max(min(rejected, matchHint + 1), match + 1)
        isProbeSent = false
        return true
    }
}
