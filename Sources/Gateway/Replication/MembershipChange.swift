import Foundation
import ReplicaCore

/// An operator's change to the cluster's configuration (`/v1/cluster/members`).
public enum MembershipChange: Sendable, Equatable {
    /// Adds a new replica as a learner.
    case add(id: Int, url: String)
    /// Makes a learner that caught up a voter.
    case promote(id: Int)
    /// Removes a voter (the leader too) or a learner.
    case remove(id: Int)
}

/// Why a configuration change was not made.
public enum MembershipChangeError: Error, Sendable, Equatable {
    /// Not the leader, no leader, timed out, shutting down.
    case replication(ReplicationError)
    case memberExists(String)
    case unknownMember(Int)
    case changeInProgress
    case notCaughtUp(match: Int64, lastIndex: Int64)
    /// The change would leave no voter or too many, or asks for what already is.
    case refused(String)
    /// Too few of the voters the change would leave answered the leader lately: it may pass
    /// once they answer again.
    case votersUnreachable(String)
}

struct PendingMembershipChange {
    var term: Term
    var subject: NodeID
    var continuation: CheckedContinuation<ClusterStatus.Member?, any Error>
    var deadline: ContinuousClock.Instant
}

extension RaftDriver {
    /// The configuration `change` leads to from `current`, or why it cannot be made.
    static func proposedMembership(
        _ change: MembershipChange, from current: Membership
    ) -> Result<Membership, MembershipChangeError> {
        switch change {
        case .add(let id, let url):
            let node = NodeID(UInt64(id))
            if current.contains(node) { return .failure(.memberExists("Replica \(id) is already a member.")) }
            if let holder = current.addresses.first(where: { Self.sameAddress($0.value, url) })?.key {
                return .failure(.memberExists("\(url) is already the address of replica \(holder.rawValue)."))
            }
            return .success(current.addingLearner(node, address: url))
        case .promote(let id):
            let node = NodeID(UInt64(id))
            guard current.contains(node) else { return .failure(.unknownMember(id)) }
            if current.isVoter(node) { return .failure(.refused("Replica \(id) is already a voter.")) }
            return .success(current.promoting(node))
        case .remove(let id):
            let node = NodeID(UInt64(id))
            guard current.contains(node) else { return .failure(.unknownMember(id)) }
            if current.voters == [node] { return .failure(.refused("Replica \(id) is the last voter; no voter would remain.")) }
            return .success(current.removing(node))
        }
    }

    /// Whether two member URLs reach the same place as far as their text tells: one spelling
    /// (`PeerList.parseURL`), and `localhost` for 127.0.0.1.
    static func sameAddress(_ first: String, _ second: String) -> Bool {
        guard first != second else { return true }
        guard let one = try? ReplicaService.hostAndPort(of: first), let other = try? ReplicaService.hostAndPort(of: second) else {
            return false
        }
        return one.host.lowercased() == other.host.lowercased() && one.port == other.port
            && URLComponents(string: first)?.scheme?.lowercased() == URLComponents(string: second)?.scheme?.lowercased()
    }

    /// Why a change that would leave too few reachable voters is refused, and what to do.
    static func quorumLossReason(unreachable: [Int], voters: Int, quorum: Int) -> String {
        let names = unreachable.sorted().map(String.init)
        let who = names.count == 1
            ? "Replica \(names[0]) has not answered the leader lately"
            : "Replicas \(names.dropLast().joined(separator: ", ")) and \(names.last!) have not answered the leader lately"
        let them = names.count == 1 ? "it" : "them"
        return "\(who), so only \(voters - names.count) of the \(voters) voters this change would leave can be reached, "
            + "fewer than the \(quorum) that must agree on every write. Bring \(them) back, or remove \(them) first."
    }

    static func subject(of change: MembershipChange) -> NodeID {
        switch change {
        case .add(let id, _), .promote(let id), .remove(let id): NodeID(UInt64(id))
        }
    }
}
