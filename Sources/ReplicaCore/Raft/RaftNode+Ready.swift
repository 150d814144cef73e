/// Handing output to the caller (etcd's RawNode.Ready / Advance).
extension RaftNode {
    /// Whether `ready()` would return any work. False while a `Ready` is
    /// awaiting its `advance(_:)`.
    public var hasReady: Bool {
        guard !isAwaitingAdvance else { return false }
        return needsBroadcast
            || !outbox.isEmpty
            || !readStates.isEmpty
            || !log.unstable.entries.isEmpty
            || log.unstable.snapshot != nil
            || log.hasEntriesToApply
            || softState != lastReadySoftState
            || hardState != lastReadyHardState
    }

    /// Takes the pending output. The caller must persist, send and apply it as
    /// `Ready` describes, then call `advance(_:)` before the next `ready()`.
    /// Other inputs (`step`, `tick`, `propose`) may be called in between.
    public func ready() -> Ready {
        invariant(!isAwaitingAdvance, "ready() called again before advance(_:)")
        if needsBroadcast && role == .leader {
            broadcastAppend()
        }
        needsBroadcast = false
        var result = Ready()
        result.entries = log.unstable.entries
        result.snapshot = log.unstable.snapshot
        result.committedEntries = log.entriesToApply(maxBytes: config.maxCommittedBytesPerReady)
        if let last = result.committedEntries.last {
            log.markApplying(upTo: last.index)
        }
        let currentSoftState = softState
        if currentSoftState != lastReadySoftState {
            result.softState = currentSoftState
            lastReadySoftState = currentSoftState
        }
        let currentHardState = hardState
        var termOrVoteChanged = false
        if currentHardState != lastReadyHardState {
            result.hardState = currentHardState
            termOrVoteChanged =
                currentHardState.term != lastReadyHardState.term || currentHardState.vote != lastReadyHardState.vote
            result.mustSync = termOrVoteChanged
            lastReadyHardState = currentHardState
        }
        // A sole voter's commit index counts only its own copy, not yet durable here: learners
        // must not hear of it before it is.
        result.canSendBeforePersisting = role == .leader && !termOrVoteChanged && !isSoleVoter
        result.mustSync = result.mustSync || !result.entries.isEmpty || result.snapshot != nil
        result.messages = outbox
        outbox = []
        result.readStates = readStates
        readStates = []
        isAwaitingAdvance = true
        return result
    }

    /// Acknowledges that `ready` was persisted, sent and applied.
    public func advance(_ ready: Ready) {
        invariant(isAwaitingAdvance, "advance(_:) without a matching ready()")
        isAwaitingAdvance = false
        if let snapshot = ready.snapshot {
            log.markSnapshotStable(at: snapshot.metadata.index)
            log.markApplied(upTo: snapshot.metadata.index)
        }
        if let last = ready.entries.last {
            log.markStable(upTo: last.index, term: last.term)
        }
        if let last = ready.committedEntries.last {
            log.markApplied(upTo: last.index)
            if role == .leader {
                let appliedBytes = ready.committedEntries.reduce(0) { $0 + $1.data.count }
                uncommittedBytes = max(0, uncommittedBytes - appliedBytes)
            }
        }
    }

    /// The replica's current state, for monitoring and tests.
    public func status() -> RaftStatus {
        var followers: [NodeID: FollowerStatus] = [:]
        if role == .leader {
            for (voter, voterProgress) in progress {
                followers[voter] = FollowerStatus(
                    match: voterProgress.match, next: voterProgress.next,
                    state: voterProgress.state, isRecentlyActive: voterProgress.isRecentlyActive,
                    isReachable: isReachable(voter))
            }
        }
        return RaftStatus(
            id: id, role: role, term: term, vote: vote, leader: leader,
            commit: log.committed, applied: log.applied, lastIndex: log.lastIndex(),
            leadershipTransferTarget: leadershipTransferTarget, progress: followers)
    }
}
