/// Why a proposal, read-index or leadership-transfer request was refused.
/// These are operational outcomes the caller handles (redirect, retry later),
/// not bugs.
public enum RaftRequestError: Error, Hashable, Sendable {
    /// Only the leader accepts the request; `leaderHint` is the leader this
    /// replica last heard from, if any, so the caller can redirect.
    case notLeader(leaderHint: NodeID?)
    /// The leader is handing over to another replica and refuses new proposals.
    case leadershipTransferInProgress
    /// Too many bytes of proposals are waiting to be committed and applied.
    case proposalDropped
    /// Too many read-index requests are waiting for confirmation.
    case readIndexDropped
    /// The target of a leadership transfer is not a voter of this cluster.
    case unknownNode(NodeID)
    /// A configuration change was asked for while another is not yet committed, or before
    /// this leader committed an entry of its own term.
    case membershipChangeInProgress
    /// The change would leave no voter, more than `Membership.maxVoters`, or change more
    /// than one voter at once.
    case invalidMembershipChange(String)
    /// The learner to promote is too far behind the leader's log.
    case learnerNotCaughtUp(match: LogIndex, lastIndex: LogIndex)
    /// The voters the change would leave include `unreachable` (not heard from within an
    /// election timeout), so fewer than `quorum` of them could commit anything.
    case wouldLoseQuorum(unreachable: [NodeID], quorum: Int)
}
