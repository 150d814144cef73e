import Testing
@testable import ReplicaCore

/// Named fault scenarios run in the simulator, each checking the safety
/// invariants at every step as well as its own outcome.
@Suite struct ScenarioTests {
    /// Raft paper Figure 8: an entry from an old term that reaches a majority
    /// is not committed by the new leader until an entry of its own term is,
    /// and may legitimately be overwritten.
    @Test func figureEightOldTermEntryIsNotCommittedByCounting() {
        let cluster = SimulatedCluster(size: 5, seed: 8, traceCapacity: 300) {
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

    @Test func partitionedLeaderStepsDownAndItsUncommittedEntriesAreOverwritten() {
        let cluster = SimulatedCluster(size: 5, seed: 21, traceCapacity: 300)
        guard let oldLeader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        cluster.isolate(oldLeader)
        let lost = (0..<3).compactMap { _ in cluster.proposeOrFail(at: oldLeader) }
        let steppedDown = cluster.run(upTo: 2 * 10 + 2) { cluster.node(oldLeader).role != .leader }
        #expect(steppedDown, "a leader without a quorum steps down within an election timeout")
        let majorityLeader = cluster.run(upTo: 200) { cluster.leader != nil && cluster.leader != oldLeader }
        #expect(majorityLeader)
        guard let newLeader = cluster.leader, newLeader != oldLeader else { return }
        guard let kept = cluster.proposeOrFail(at: newLeader) else { return }
        cluster.run(upTo: 50) { cluster.node(newLeader).log.committed >= kept.index }
        cluster.heal()
        cluster.run(upTo: 300) { cluster.isConverged && cluster.appliedProposals(of: oldLeader).contains(kept.proposalID) }
        for id in cluster.ids {
            #expect(cluster.appliedProposals(of: id).contains(kept.proposalID))
            for proposal in lost {
                #expect(!cluster.appliedProposals(of: id).contains(proposal.proposalID))
            }
        }
        cluster.expectNoViolations()
    }

    @Test func followerWithLongDivergentLogIsRepairedQuickly() {
        var rejections = 0
        let cluster = SimulatedCluster(size: 3, seed: 5, traceCapacity: 300) {
            $0.maxEntriesPerMessage = 16
        }
        guard let oldLeader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        // The isolated leader piles up 200 entries nobody else stores.
        cluster.isolate(oldLeader)
        for _ in 0..<200 { _ = cluster.proposeOrFail(at: oldLeader) }
        cluster.run(upTo: 300) { cluster.leader != nil && cluster.leader != oldLeader }
        guard let newLeader = cluster.leader, newLeader != oldLeader else {
            Issue.record("no new leader")
            return
        }
        for _ in 0..<20 { _ = cluster.proposeOrFail(at: newLeader) }
        cluster.run(upTo: 50) { cluster.isConverged }
        cluster.network.dropRule = { message in
            if case .appendResponse(let response) = message.kind, response.rejection != nil { rejections += 1 }
            return false
        }
        cluster.heal()
        let repaired = cluster.run(upTo: 300) {
            cluster.isConverged && cluster.node(oldLeader).log.lastIndex() == cluster.node(newLeader).log.lastIndex()
        }
        #expect(repaired)
        #expect(cluster.appliedProposals(of: oldLeader) == cluster.appliedProposals(of: newLeader))
        #expect(rejections <= 4, "fast backtracking skips the divergent term at once (saw \(rejections) rejections)")
        cluster.expectNoViolations()
    }

    @Test func fiveReplicasWithTwoCrashedKeepCommitting() {
        let cluster = SimulatedCluster(size: 5, seed: 52, traceCapacity: 300)
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let crashed = cluster.ids.filter { $0 != leader }.prefix(2)
        for id in crashed { cluster.crash(id) }
        let proposals = (0..<20).compactMap { _ in cluster.proposeOrFail(at: leader) }
        let committed = cluster.run(upTo: 100) { cluster.isConverged }
        #expect(committed)
        for id in cluster.liveIDs {
            #expect(Set(cluster.appliedProposals(of: id)).isSuperset(of: proposals.map(\.proposalID)))
        }
        for id in crashed { cluster.restart(id) }
        #expect(cluster.run(upTo: 200) { cluster.isConverged })
        cluster.expectNoViolations()
    }

    @Test func fiveReplicasWithThreeCrashedStopCommittingAndRecover() {
        let cluster = SimulatedCluster(size: 5, seed: 53, traceCapacity: 300)
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let crashed = Array(cluster.ids.filter { $0 != leader }.prefix(3))
        for id in crashed { cluster.crash(id) }
        let appliedBefore = cluster.checker.highestAppliedIndex
        _ = cluster.propose(at: leader)
        cluster.run(steps: 200)
        #expect(cluster.checker.highestAppliedIndex == appliedBefore, "no commit without a majority")
        #expect(cluster.leader == nil, "the minority leader stepped down")
        cluster.restart(crashed[0])
        guard let newLeader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader after a majority returned")
            return
        }
        guard let proposal = cluster.proposeOrFail(at: newLeader) else { return }
        #expect(cluster.run(upTo: 100) { cluster.checker.acknowledgedProposals[proposal.proposalID] != nil })
        cluster.expectNoViolations()
    }

    @Test func farBehindFollowerCatchesUpByChunkedSnapshotDespiteALostChunk() {
        let cluster = SimulatedCluster(size: 3, seed: 77, traceCapacity: 300) {
            $0.snapshotChunkBytes = 16
        }
        cluster.snapshotInterval = 10
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let laggard = cluster.ids.first { $0 != leader }!
        cluster.crash(laggard)
        for _ in 0..<60 {
            _ = cluster.proposeOrFail(at: leader)
            cluster.step()
        }
        #expect(cluster.replica(leader).storage.firstIndex() > 2, "the leader compacted its log")
        var droppedChunks = 0
        var deliveredChunks = 0
        cluster.network.dropRule = { message in
            guard case .snapshotChunk(let chunk) = message.kind else { return false }
            if chunk.offset == 32 && droppedChunks == 0 {
                droppedChunks += 1
                return true
            }
            deliveredChunks += 1
            return false
        }
        cluster.restart(laggard)
        let caughtUp = cluster.run(upTo: 300) {
            cluster.isConverged && cluster.appliedProposals(of: laggard) == cluster.appliedProposals(of: leader)
        }
        #expect(caughtUp)
        #expect(droppedChunks == 1)
        #expect(deliveredChunks > 3, "the snapshot was sent in several chunks")
        #expect(cluster.replica(laggard).storage.snapshot().metadata.index > 0, "the laggard installed a snapshot")
        cluster.expectNoViolations()
    }
}

extension SimulatedCluster {
    /// Campaigns until `id` leads, delivering only as many steps as needed, so
    /// that the new leader's appends stay in flight.
    func campaignUntilLeaderWithoutSettling(_ id: NodeID) {
        for _ in 0..<5 where node(id).role != .leader {
            node(id).campaign()
            processAllReadies()
            run(upTo: 4, ticking: false) { node(id).role == .leader }
        }
    }
}
