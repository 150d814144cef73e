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
}
