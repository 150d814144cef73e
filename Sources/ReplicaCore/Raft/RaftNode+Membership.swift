/// Membership change, one server at a time (Raft thesis §4.1, §4.2).
///
/// Why single-server changes and not joint consensus: every change an operator makes here
/// (add a learner, promote it, remove a member) changes at most one voter, and any two
/// configurations that differ by one voter have overlapping majorities, so no joint phase
/// is needed. It keeps one configuration per replica, one rule for counting votes and
/// commits, and one kind of membership entry that the simulator can check.
///
/// The rules that make it safe:
/// - A configuration is in force on a replica as soon as its entry is in the log,
///   committed or not; a truncated entry takes its configuration with it (`RaftLog`).
/// - A leader proposes a change only after it committed an entry of its own term, and
///   only when the previous change is committed. The first rule is Ongaro's 2015
///   correction on raft-dev: without it a new leader may add its change on top of an
///   uncommitted change of a deposed leader and the two majorities need not overlap.
/// - A leader that removed itself keeps leading without counting itself until the
///   removal commits, then hands leadership to an up-to-date voter and steps down.
/// - Learners receive the log but never vote, campaign, or count toward a quorum.
extension RaftNode {
    /// The configuration this replica acts on: the last one in its log.
    public var membership: Membership { log.membership }

    /// Where that configuration is stored: its entry's index, or the snapshot's or bootstrap's.
    public var membershipIndex: LogIndex { log.membershipIndex }

    /// The configuration in force at `index`, for a snapshot taken there.
    public func membership(at index: LogIndex) -> Membership { log.membership(at: index) }

    /// Whether this replica is the only voter: its own copy alone commits.
    var isSoleVoter: Bool {
        let voters = log.membership.voters
        return voters.count == 1 && voters[0] == id
    }

    /// Whether a configuration change is in the log but not yet committed.
    public var hasMembershipChangeInFlight: Bool { log.membershipIndex > log.committed }

    /// Proposes `newMembership`, which must differ from the current one by at most one
    /// voter (learners may come and go freely). A learner becomes a voter only once it
    /// is within `RaftConfig.maxPromotionLag` entries of the leader's log.
    @discardableResult
    public func proposeMembership(_ newMembership: Membership) throws(RaftRequestError) -> (index: LogIndex, term: Term) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        guard leadershipTransferTarget == nil else { throw .leadershipTransferInProgress }
        guard hasCommittedEntryInCurrentTerm, !hasMembershipChangeInFlight else { throw .membershipChangeInProgress }
        let current = membership
        guard !newMembership.voters.isEmpty else { throw .invalidMembershipChange("no voter would remain") }
        guard newMembership.voters.count <= Membership.maxVoters else {
            throw .invalidMembershipChange("at most \(Membership.maxVoters) voters")
        }
        let changedVoters = Set(current.voters).symmetricDifference(newMembership.voters)
        guard changedVoters.count <= 1 else { throw .invalidMembershipChange("more than one voter would change") }
        for added in changedVoters where newMembership.isVoter(added) {
            guard current.isLearner(added) else {
                throw .invalidMembershipChange("\(added) must join as a learner before it votes")
            }
            // It must hold the configuration that made it a learner (else it knows no
            // configuration and would refuse to vote), and be close to the end of the log.
            let match = progress[added]?.match ?? 0
            guard match >= log.membershipIndex, match + UInt64(config.maxPromotionLag) >= log.lastIndex() else {
                throw .learnerNotCaughtUp(match: match, lastIndex: log.lastIndex())
            }
        }
        // A change of voters must leave a reachable majority (etcd's strict reconfiguration
        // check): else the cluster stops until the unreachable come back, and for good if one
        // of them never does.
        if !changedVoters.isEmpty {
            let unreachable = newMembership.voters.filter { !isReachable($0) }
            guard newMembership.voters.count - unreachable.count >= newMembership.quorum else {
                throw .wouldLoseQuorum(unreachable: unreachable, quorum: newMembership.quorum)
            }
        }
        let entry = Entry(term: term, index: log.lastIndex() + 1, data: newMembership.encoded(), kind: .membership)
        let index = appendEntryAsLeader(entry)
        needsBroadcast = true
        return (index, term)
    }

    /// Brings `peers` and the leader's progress in line with the configuration in the
    /// log, after anything that may have changed it (an append, a truncation, a snapshot).
    func refreshMembership() {
        let current = log.membership
        guard current != knownMembership else { return }
        knownMembership = current
        peers = current.members.filter { $0 != id }
        guard role == .leader else { return }
        for member in current.members where progress[member] == nil {
            let inflights = Inflights(capacity: config.maxInflightMessages, maxBytes: config.maxInflightBytes)
            let fresh = Progress(match: 0, next: log.lastIndex() + 1, inflights: inflights)
            // A new member is contacted right away; a snapshot goes out once it answers.
            fresh.isRecentlyActive = true
            progress[member] = fresh
        }
        for member in progress.keys where !current.contains(member) && member != id {
            progress[member] = nil
        }
        if let target = leadershipTransferTarget, !current.isVoter(target) {
            leadershipTransferTarget = nil
        }
        needsBroadcast = true
    }

    /// A leader whose own removal is committed hands leadership to the most
    /// up-to-date voter and steps down; it no longer belongs to the cluster.
    func stepDownIfRemoved() {
        guard role == .leader, !membership.isVoter(id), !hasMembershipChangeInFlight else { return }
        let lastIndex = log.lastIndex()
        let successor = membership.voters
            .filter { progress[$0]?.match == lastIndex }
            .first
        // Tell everyone the commit index first: the successor must not wait for a timeout.
        broadcastAppend()
        if let successor {
            send(.timeoutNow, to: successor)
        }
        becomeFollower(term: term, leader: nil)
    }
}
