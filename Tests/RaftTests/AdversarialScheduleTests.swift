import Testing
@testable import ReplicaCore

/// Schedules that random faults reach too rarely, written out step by step and run in the
/// simulator with every invariant checked at every step. Each runs on several cluster seeds
/// (which move election timings) and, where a crash is involved, under each way a crash may
/// lose unflushed writes.
@Suite(.recordsCoreInvariants) struct AdversarialScheduleTests {
    static let seeds: [UInt64] = [1, 2, 3]
    static let losses: [SimulatedDisk.CrashLoss] = [.allUnflushed, .randomSuffix, .nothing]

    /// Raft paper Figure 8: an entry from an old term that reaches a majority
    /// is not committed by the new leader until an entry of its own term is,
    /// and may legitimately be overwritten.
    @Test(arguments: seeds)
    func figureEightOldTermEntryIsNotCommittedByCounting(seed: UInt64) {
        let cluster = SimulatedCluster(size: 5, seed: seed, traceCapacity: 300) {
            $0.preVote = false
            $0.checkQuorum = false
            $0.maxEntriesPerMessage = 1
        }
        // (a) n1 leads term 1 and commits its no-op everywhere.
        cluster.campaignUntilLeader(1)
        #expect(cluster.node(1).log.committed == 1)
        // (b) n1 replicates X at index 2 to n2 only, then crashes.
        cluster.partition([1, 2])
        guard let x = cluster.proposeOrFail(at: 1) else { return }
        cluster.settle()
        #expect(cluster.node(2).log.term(at: 2) == x.term)
        cluster.crash(1)
        // (c) n5 wins term 2 with votes from n3 and n4 and appends its no-op
        //     at index 2, but is cut off before replicating it, then crashes.
        cluster.heal()
        cluster.isolate(2)
        cluster.node(5).campaign()
        cluster.processAllReadies()
        cluster.run(upTo: 5, ticking: false) { cluster.node(5).role == .leader }
        #expect(cluster.node(5).role == .leader)
        cluster.isolate(5)
        cluster.settle()
        #expect(cluster.node(5).log.term(at: 2) == cluster.node(5).term)
        cluster.crash(5)
        // (d) n1 restarts, leads term 3 with n3 and n4 and copies X to both:
        //     X is now on a majority (n1, n3, n4) but must not be committed.
        cluster.restart(1)
        cluster.heal()
        cluster.isolate(2)
        cluster.campaignUntilLeaderWithoutSettling(1)
        let reachedMajority = cluster.run(upTo: 50, ticking: false) {
            [3, 4].allSatisfy { cluster.node($0).log.term(at: 2) == x.term }
        }
        #expect(reachedMajority)
        // Let the acknowledgements reach n1, but nothing more leave it.
        cluster.partition([1], oneWay: true)
        let acknowledged = cluster.run(upTo: 10, ticking: false) {
            [3, 4].allSatisfy { (cluster.node(1).status().progress[$0]?.match ?? 0) >= 2 }
        }
        #expect(acknowledged)
        #expect(cluster.node(1).log.committed == 1, "an old-term entry on a majority is not committed")
        cluster.crash(1)
        // (e) n5 restarts and wins with n2, n3, n4: its index-2 entry overwrites X.
        cluster.restart(5)
        cluster.heal()
        cluster.campaignUntilLeader(5)
        #expect(cluster.node(5).role == .leader)
        cluster.restart(1)
        #expect(cluster.run(upTo: 200) { cluster.isConverged && cluster.node(1).log.term(at: 2) != x.term })
        for id in cluster.ids {
            #expect(!cluster.appliedProposals(of: id).contains(x.proposalID))
            #expect(cluster.node(id).log.term(at: 2) != x.term)
        }
        cluster.expectNoViolations()
    }

    /// A voter grants a vote and crashes before the vote is durable. It must not have sent the
    /// grant (a voter persists before it answers), so when it restarts without the vote and
    /// grants it again in the same term to another candidate, there is still one leader per term.
    @Test(arguments: seeds, losses)
    func crashBetweenGrantingAVoteAndPersistingIt(seed: UInt64, loss: SimulatedDisk.CrashLoss) {
        let cluster = SimulatedCluster(size: 3, seed: seed, traceCapacity: 300) {
            $0.preVote = false
            $0.checkQuorum = false
        }
        // n1 and n3 cannot reach each other; n2 is the voter both need.
        cluster.network.partition([1], from: [3])
        cluster.node(1).campaign()
        cluster.crash(2, at: .whilePersisting, losing: loss)
        cluster.processAllReadies()
        cluster.run(upTo: 5, ticking: false) { !cluster.isUp(2) }
        #expect(!cluster.isUp(2), "the voter crashed at the Ready that holds its vote")
        cluster.settle()
        cluster.restart(2)
        cluster.node(3).campaign()
        cluster.processAllReadies()
        cluster.settle()
        let term1Leaders = cluster.ids.filter {
            cluster.isUp($0) && cluster.node($0).role == .leader && cluster.node($0).term == 1
        }
        #expect(term1Leaders.count <= 1, "Election Safety: \(term1Leaders) all lead term 1")
        cluster.expectNoViolations()
    }

    /// A leader sends appends while it writes them (`canSendBeforePersisting`) and crashes
    /// before they are durable: its followers hold entries it lost. Whatever a crash keeps,
    /// nothing acknowledged is lost and the cluster converges.
    @Test(arguments: seeds, losses)
    func leaderCrashesWhileWritingEntriesItAlreadySent(seed: UInt64, loss: SimulatedDisk.CrashLoss) {
        let cluster = SimulatedCluster(size: 3, seed: seed, traceCapacity: 300)
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let committed = (0..<3).compactMap { _ in cluster.proposeOrFail(at: leader) }
        #expect(cluster.run(upTo: 50) { cluster.isConverged })
        cluster.crash(leader, at: .whilePersisting, losing: loss)
        _ = cluster.propose(at: leader)
        #expect(!cluster.isUp(leader), "the leader crashed while writing its proposal")
        cluster.run(steps: 5)
        cluster.restart(leader)
        #expect(cluster.waitForConvergedLeader() != nil)
        for id in cluster.ids {
            #expect(Set(cluster.appliedProposals(of: id)).isSuperset(of: committed.map(\.proposalID)))
        }
        cluster.expectNoViolations()
    }

    /// A leader replicates a tail to one follower only, then loses its leadership to the
    /// other side. Whether the follower with the tail ends up on the majority side (and the
    /// tail may be committed) or not (and it must be overwritten), every replica converges on
    /// one log, and the entries committed before stay.
    @Test(arguments: seeds, [false, true])
    func leaderDeposedWithAHalfReplicatedTail(seed: UInt64, tailHolderJoinsMajority: Bool) {
        let cluster = SimulatedCluster(size: 5, seed: seed, traceCapacity: 400) { $0.maxEntriesPerMessage = 1 }
        guard let oldLeader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        guard let before = cluster.proposeOrFail(at: oldLeader) else { return }
        #expect(cluster.run(upTo: 50) { cluster.isConverged })
        let others = cluster.ids.filter { $0 != oldLeader }
        let tailHolder = others[0]
        let tail = cluster.replicateUncommittedTail(from: oldLeader, to: tailHolder)
        #expect(cluster.node(tailHolder).log.lastIndex() == tail.last?.index, "the tail reached one follower")
        #expect(cluster.node(oldLeader).log.committed < tail[0].index, "the tail is not committed")
        cluster.crash(oldLeader, at: .betweenReadies, losing: .nothing)
        cluster.heal()
        var majority = others
        if !tailHolderJoinsMajority {
            cluster.isolate(tailHolder)
            majority.removeAll { $0 == tailHolder }
        }
        guard let newLeader = cluster.waitForLeader(among: majority) else {
            Issue.record("no new leader")
            return
        }
        guard let after = cluster.proposeOrFail(at: newLeader) else { return }
        cluster.heal()
        cluster.restart(oldLeader)
        #expect(cluster.run(upTo: 400) { cluster.isConverged && cluster.checker.acknowledgedProposals[after.proposalID] != nil })
        let leaderLog = cluster.appliedProposals(of: cluster.leader ?? newLeader)
        for id in cluster.ids {
            let applied = cluster.appliedProposals(of: id)
            #expect(applied == leaderLog, "\(id) converged on the leader's log")
            #expect(applied.contains(before.proposalID), "\(id) kept the entry committed before")
            if !tailHolderJoinsMajority {
                #expect(tail.allSatisfy { !applied.contains($0.proposalID) }, "\(id) dropped the deposed tail")
            }
        }
        cluster.expectNoViolations()
    }

    /// A follower holds a tail of a deposed leader's term; the new leader's log is shorter, so
    /// its first matching append carries a single entry. The follower must cut off its whole
    /// stale tail, not only the entry the append replaces.
    @Test(arguments: seeds)
    func followerWithAStaleDivergentTailReceivesAShortAppend(seed: UInt64) {
        let cluster = SimulatedCluster(size: 5, seed: seed, traceCapacity: 400)
        guard let oldLeader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let others = cluster.ids.filter { $0 != oldLeader }
        let follower = others[0]
        let staleTail = cluster.replicateUncommittedTail(from: oldLeader, to: follower)
        let staleTerm = cluster.node(oldLeader).term
        cluster.crash(oldLeader, at: .betweenReadies, losing: .nothing)
        cluster.heal()
        cluster.isolate(follower)
        guard let newLeader = cluster.waitForLeader(among: others.filter { $0 != follower }) else {
            Issue.record("no new leader")
            return
        }
        #expect(cluster.node(newLeader).log.lastIndex() < cluster.node(follower).log.lastIndex(), "the new log is shorter")
        cluster.heal()
        let repaired = cluster.run(upTo: 200) {
            cluster.node(follower).log.lastIndex() == cluster.node(newLeader).log.lastIndex()
                && cluster.node(follower).log.term(at: cluster.node(follower).log.lastIndex()) == cluster.node(newLeader).term
        }
        #expect(repaired, "the follower took the new leader's log")
        let storage = cluster.replica(follower).storage
        for index in staleTail.map(\.index) where index <= storage.lastIndex() {
            #expect((try? storage.term(at: index)) != staleTerm, "stale entry at \(index) was cut off")
        }
        cluster.restart(oldLeader)
        #expect(cluster.run(upTo: 300) { cluster.isConverged })
        for id in cluster.ids {
            #expect(staleTail.allSatisfy { !cluster.appliedProposals(of: id).contains($0.proposalID) })
        }
        cluster.expectNoViolations()
    }

    /// An append delayed in the network arrives after later appends from the same leader: the
    /// follower already holds every entry it carries, and must keep the entries after them,
    /// which it has acknowledged and the leader may have counted towards a commit.
    @Test(arguments: seeds)
    func lateShortAppendDoesNotCutOffAcknowledgedEntries(seed: UInt64) {
        let cluster = SimulatedCluster(size: 3, seed: seed, traceCapacity: 300) { $0.maxEntriesPerMessage = 1 }
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let follower = cluster.ids.first { $0 != leader }!
        var firstAppend: RaftMessage?
        cluster.network.dropRule = { message in
            if firstAppend == nil, message.to == follower, case .append(let request) = message.kind, !request.entries.isEmpty {
                firstAppend = message
            }
            return false
        }
        let proposals = (0..<4).compactMap { _ in cluster.proposeOrFail(at: leader) }
        #expect(cluster.run(upTo: 50) { cluster.isConverged })
        guard let late = firstAppend, let last = proposals.last else {
            Issue.record("no append was captured")
            return
        }
        cluster.network.dropRule = nil
        cluster.node(follower).step(late)
        cluster.processAllReadies()
        #expect(cluster.node(follower).log.lastIndex() >= last.index, "the follower kept the entries after the late append")
        #expect(cluster.replica(follower).storage.lastIndex() >= last.index, "and so did its disk")
        cluster.crash(leader)
        #expect(cluster.waitForConvergedLeader() != nil)
        for id in cluster.liveIDs {
            #expect(Set(cluster.appliedProposals(of: id)).isSuperset(of: proposals.map(\.proposalID)))
        }
        cluster.expectNoViolations()
    }
}
