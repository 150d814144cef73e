import Testing
@testable import ReplicaCore

/// Named fault scenarios run in the simulator, each checking the safety
/// invariants at every step as well as its own outcome.
@Suite(.recordsCoreInvariants) struct ScenarioTests {
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
