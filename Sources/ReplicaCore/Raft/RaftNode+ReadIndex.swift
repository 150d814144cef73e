/// Linearizable reads without writing to the log (Raft thesis §6.4).
///
/// The leader records its commit index as the read index, confirms with a
/// heartbeat round that a quorum still follows it, then answers. A follower
/// forwards the request to the leader and surfaces the answer. Either way the
/// answer arrives as a `ReadState` in a `Ready`; the caller serves the read
/// once its applied index reaches `ReadState.index`. A request may be lost
/// (leader change, dropped message): the caller times out and retries.
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
            handleReadIndexRequest(context: context, from: id)
        case .follower, .preCandidate, .candidate:
            guard let leader else { throw .notLeader(leaderHint: nil) }
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
            readStates.append(ReadState(context: read.context, index: read.index))
        } else {
            let response = ReadIndexResponse(context: read.context, index: read.index)
            send(.readIndexResponse(response), to: read.requester)
        }
    }
}
