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

/// The leader's record of one follower's log. A class so that the leader
/// updates it in place: progress is touched for every message and proposal.
final class Progress {
    /// The highest index known to match the leader's log.
    var match: LogIndex
    /// The next index to send.
    var next: LogIndex
    private(set) var state: ReplicationState = .probe
    /// In the probe state: an append was sent and its answer is awaited.
    var isProbeSent = false
    /// Set on every message from the follower; CheckQuorum clears it each election timeout.
    var isRecentlyActive = false
    /// The leader's `ticksElapsed` when the follower last answered; nil if it never did.
    var answeredAt: Int?
    var inflights: Inflights
    /// In the snapshot state: the snapshot being sent.
    private(set) var pendingSnapshot: SnapshotMetadata?
    /// In the snapshot state: how many bytes the follower acknowledged.
    var snapshotAcknowledgedOffset = 0
    /// In the snapshot state: how many bytes were sent (chunks in flight end here).
    var snapshotSentOffset = 0
    /// In the snapshot state: heartbeat answers seen since the transfer last
    /// made progress; after two, the chunks in flight count as lost and are resent.
    var snapshotStalledHeartbeats = 0
    /// In the snapshot state: whether the last chunk is among those sent.
    var isSnapshotLastChunkSent = false
    /// In the snapshot state: the offset chunks were last resent from, so a
    /// burst of answers reporting the same gap causes only one resend.
    var snapshotResentFrom: Int?

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

    func becomeProbe() {
        if state == .snapshot, let pendingSnapshot {
            next = max(match + 1, pendingSnapshot.index + 1)
        } else {
            next = match + 1
        }
        resetState(.probe)
    }

    func becomeReplicate() {
        next = match + 1
        resetState(.replicate)
    }

    func becomeSnapshot(_ metadata: SnapshotMetadata) {
        resetState(.snapshot)
        pendingSnapshot = metadata
    }

    private func resetState(_ newState: ReplicationState) {
        state = newState
        isProbeSent = false
        pendingSnapshot = nil
        snapshotAcknowledgedOffset = 0
        snapshotSentOffset = 0
        snapshotStalledHeartbeats = 0
        isSnapshotLastChunkSent = false
        snapshotResentFrom = nil
        inflights.reset()
    }

    /// Records that the follower holds everything up to `index`. Returns true
    /// if that is news (match moved forward).
    func update(acknowledged index: LogIndex) -> Bool {
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
    func recordSent(entryCount: Int, bytes: Int) {
        switch state {
        case .replicate:
            guard entryCount > 0 else { return }
            let lastSent = next + UInt64(entryCount - 1)
            next = lastSent + 1
            inflights.add(lastIndex: lastSent, bytes: bytes)
        case .probe:
            isProbeSent = true
        case .snapshot:
            invariantFailure("appending to a follower receiving a snapshot")
        }
    }

    /// Handles a rejected append at `rejected`. `matchHint` is where the
    /// follower's log may match. Returns false when the rejection is stale.
    func backOff(rejected: LogIndex, matchHint: LogIndex) -> Bool {
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
