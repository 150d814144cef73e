/// Linearizable reads without writing to the log (Raft thesis §6.4).
///
/// The leader records its commit index as the read index, confirms with a
/// heartbeat round that a quorum still follows it, then answers. A follower
/// forwards the request to the leader and surfaces the answer; one that knows no leader holds
/// it for the next one. Either way the
/// answer arrives as a `ReadState` in a `Ready`; the caller serves the read
/// once its applied index reaches `ReadState.index`. A request lost with a
/// leader change or a dropped message is asked again of the next leader, or of
/// the same one after an election timeout (etcd's server retries the same way),
/// until it is answered or the caller abandons it.
extension RaftNode {
    /// Requests a read index for `context`, which the caller chooses to match
    /// the answer to its request: it must be unique among this replica's
    /// outstanding reads (other replicas may use the same numbers). An answer
    /// can arrive twice if the network duplicates it; ignore unknown contexts.
    public func readIndex(context: UInt64) throws(RaftRequestError) {
        switch role {
        case .leader:
            guard pendingReads.count + readsAwaitingFirstCommit.count < config.maxPendingReadIndexRequests else {
                throw .readIndexDropped
            }
            // Remembered first: a sole voter answers at once.
            rememberUnanswered(context)
            ask(id, forReadIndexOf: context)
        case .follower, .preCandidate, .candidate:
            // Without a leader the read waits for the next one while an election may be under
            // way (a handover, a crash); cut off longer than that, this replica refuses at once.
            guard leader != nil || ticksSinceLeaderContact < Self.electionsAReadWaitsFor * config.electionTick else {
                throw .notLeader(leaderHint: nil)
            }
            rememberUnanswered(context)
            guard let leader else { return }
            ask(leader, forReadIndexOf: context)
        }
    }

    /// Stops asking for `context`: the caller gave up waiting for it.
    public func abandonRead(context: UInt64) {
        noteReadAnswered(context: context)
    }

    /// Election timeouts without a leader after which reads are refused rather than held.
    static let electionsAReadWaitsFor = 3

    private func rememberUnanswered(_ context: UInt64) {
        // Held without a leader: whichever leader comes next (even the same one again) is asked.
        if leader == nil { unansweredReadsAskedOf = nil }
        if unansweredReads.isEmpty, let leader { unansweredReadsAskedOf = (leader, term) }
        // The oldest were given up on long ago; the bound keeps retries from growing.
        if unansweredReads.count >= config.maxPendingReadIndexRequests { unansweredReads.removeFirst() }
        unansweredReads.append((context, ticksElapsed))
    }

    func noteReadAnswered(context: UInt64) {
        unansweredReads.removeAll { $0.context == context }
    }

    /// Asks every unanswered read again when a leader (or a new term of the same one) is known
    /// that was not asked; otherwise, on a follower, asks again those that waited an election
    /// timeout. A leader's own reads wait in its queues, confirmed by its heartbeats, until its
    /// term ends.
    func askUnansweredReadsAgainIfDue(ticked: Bool = false) {
        guard !unansweredReads.isEmpty, let leader else { return }
        let askedThisLeader = unansweredReadsAskedOf.map { $0.leader == leader && $0.term == term } ?? false
        guard !askedThisLeader || (ticked && role != .leader) else { return }
        unansweredReadsAskedOf = (leader, term)
        var due: [UInt64] = []
        for position in unansweredReads.indices
        where !askedThisLeader || ticksElapsed - unansweredReads[position].askedAt >= config.electionTick {
            unansweredReads[position].askedAt = ticksElapsed
            due.append(unansweredReads[position].context)
        }
        // Asked after the loop: a leader that is the sole voter answers at once, which removes
        // the read from the list.
        for context in due {
            ask(leader, forReadIndexOf: context)
        }
    }

    /// Asks `leader` for the read index of `context`; a leader asks itself without a message.
    private func ask(_ leader: NodeID, forReadIndexOf context: UInt64) {
        if leader == id {
            handleReadIndexRequest(context: context, from: id)
        } else {
            send(.readIndex(ReadIndexRequest(context: context)), to: leader, term: 0)
        }
    }

    func handleReadIndexRequest(context: UInt64, from requester: NodeID) {
        guard pendingReads.count + readsAwaitingFirstCommit.count < config.maxPendingReadIndexRequests else {
            return
        }
        guard hasCommittedEntryInCurrentTerm else {
            readsAwaitingFirstCommit.append((context, requester))
            return
        }
        if isSoleVoter {
            answerRead(
                PendingRead(sequence: 0, context: context, requester: requester, index: log.committed, acknowledgements: []))
            return
        }
        pendingReads.add(
            context: context, requester: requester, index: log.committed, leader: membership.isVoter(id) ? id : nil)
        broadcastHeartbeat()
    }

    var hasCommittedEntryInCurrentTerm: Bool {
        log.term(at: log.committed) == term
    }

    func releaseReadsAwaitingFirstCommit() {
        guard !readsAwaitingFirstCommit.isEmpty, hasCommittedEntryInCurrentTerm else { return }
        let waiting = readsAwaitingFirstCommit
        readsAwaitingFirstCommit.removeAll()
        for read in waiting {
            handleReadIndexRequest(context: read.context, from: read.requester)
        }
    }

    func acknowledgeRead(sequence: UInt64, from voter: NodeID) {
        guard membership.isVoter(voter) else { return }
        for read in pendingReads.acknowledge(sequence: sequence, from: voter, quorum: membership.quorum) {
            answerRead(read)
        }
    }

    private func answerRead(_ read: PendingRead) {
        if read.requester == id {
            noteReadAnswered(context: read.context)
            readStates.append(ReadState(context: read.context, index: read.index))
        } else {
            let response = ReadIndexResponse(context: read.context, index: read.index)
            send(.readIndexResponse(response), to: read.requester)
        }
    }
}
