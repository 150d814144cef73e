/// Leadership transfer (Raft thesis §3.10), used for graceful shutdown.
///
/// The leader stops accepting proposals, brings the target's log up to date,
/// then sends it `timeoutNow`; the target campaigns at once, skipping the
/// pre-election. If the target has not taken over within an election timeout,
/// the leader abandons the transfer and accepts proposals again.
extension RaftNode {
    /// Asks the leader to hand leadership to `target`. On a follower the
    /// request is forwarded to the known leader.
    public func transferLeadership(to target: NodeID) throws(RaftRequestError) {
        guard membership.isVoter(target) else { throw .unknownNode(target) }
        guard role == .leader else {
            guard let leader else { throw .notLeader(leaderHint: nil) }
            send(.transferLeader(TransferLeaderRequest(target: target)), to: leader, term: 0)
            return
        }
        handleTransferRequest(to: target)
    }

    func handleTransferRequest(to target: NodeID) {
        guard membership.isVoter(target), target != id else { return }
        guard leadershipTransferTarget != target else { return }
        leadershipTransferTarget = target
        // The transfer must finish within one election timeout.
        electionElapsed = 0
        if progress[target]?.match == log.lastIndex() {
            send(.timeoutNow, to: target)
        } else {
            sendAppend(to: target, evenIfEmpty: true)
        }
    }
}
