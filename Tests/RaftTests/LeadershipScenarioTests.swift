import Testing
@testable import ReplicaCore

/// Scenarios about who leads: PreVote against a flapping replica, leadership
/// transfer, and reads served through ReadIndex.
@Suite(.recordsCoreInvariants) struct LeadershipScenarioTests {
    /// Isolates `id` for three election timeouts, then heals, `times` times.
    private func flap(_ id: NodeID, in cluster: SimulatedCluster, times: Int) {
        for _ in 0..<times {
            cluster.isolate(id)
            cluster.run(steps: 30)
            cluster.heal()
            cluster.run(steps: 30)
        }
    }

    @Test func preVoteStopsAFlappingReplicaFromRaisingTerms() {
        let cluster = SimulatedCluster(size: 5, seed: 9, traceCapacity: 300)
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let flapper = cluster.ids.first { $0 != leader }!
        let termBefore = cluster.node(leader).term
        flap(flapper, in: cluster, times: 5)
        #expect(cluster.leader == leader, "the healthy leader was never deposed")
        #expect(cluster.node(leader).term == termBefore)
        #expect(cluster.node(flapper).term == termBefore, "the flapping replica never raised its term")
        cluster.expectNoViolations()
    }

    @Test func withoutPreVoteAFlappingReplicaDisruptsTheCluster() {
        let cluster = SimulatedCluster(size: 5, seed: 9, traceCapacity: 300) { $0.preVote = false }
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let flapper = cluster.ids.first { $0 != leader }!
        let termBefore = cluster.node(leader).term
        flap(flapper, in: cluster, times: 5)
        let termAfter = cluster.ids.map { cluster.node($0).term }.max()!
        #expect(termAfter > termBefore, "control experiment: terms climb without PreVote")
        cluster.expectNoViolations()
    }

    @Test func leadershipTransferHandsOverAndTheOldLeaderCanShutDown() throws {
        let cluster = SimulatedCluster(size: 3, seed: 31, traceCapacity: 300)
        guard let oldLeader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let target = cluster.ids.first { $0 != oldLeader }!
        _ = cluster.proposeOrFail(at: oldLeader)
        try cluster.node(oldLeader).transferLeadership(to: target)
        cluster.processAllReadies()
        if case .success = cluster.propose(at: oldLeader) {
            Issue.record("a leader handing over must refuse proposals")
        }
        let transferred = cluster.run(upTo: 10) { cluster.leader == target }
        #expect(transferred, "the target took over within an election timeout")
        // Graceful shutdown: the old leader leaves; the cluster keeps committing.
        cluster.crash(oldLeader)
        guard let proposal = cluster.proposeOrFail(at: target) else { return }
        #expect(cluster.run(upTo: 50) { cluster.checker.acknowledgedProposals[proposal.proposalID] != nil })
        cluster.expectNoViolations()
    }

    @Test func followerServesLinearizableReadThroughTheLeader() throws {
        let cluster = SimulatedCluster(size: 3, seed: 41, traceCapacity: 300)
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let follower = cluster.ids.first { $0 != leader }!
        let proposals = (0..<5).compactMap { _ in cluster.proposeOrFail(at: leader) }
        cluster.run(upTo: 50) { cluster.checker.acknowledgedProposals[proposals.last!.proposalID] != nil }
        guard let context = cluster.requestReadOrRecord(at: follower) else { return }
        let answered = cluster.run(upTo: 20) { cluster.hasAnsweredRead(context, at: follower) }
        #expect(answered)
        let readIndex = cluster.answeredReads[follower]?.first { $0.context == context }?.index ?? 0
        #expect(readIndex >= proposals.last!.index, "the read reflects every write acknowledged before it")
        #expect(cluster.run(upTo: 20) { cluster.replica(follower).stateMachine.appliedIndex >= readIndex })
        #expect(cluster.appliedProposals(of: follower).contains(proposals.last!.proposalID))
        cluster.expectNoViolations()
    }

    @Test func isolatedLeaderNeverAnswersAReadIndex() {
        let cluster = SimulatedCluster(size: 3, seed: 43, traceCapacity: 300)
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        cluster.isolate(leader)
        guard let context = cluster.requestReadOrRecord(at: leader) else { return }
        cluster.run(steps: 60)
        #expect(!cluster.hasAnsweredRead(context, at: leader))
        cluster.expectNoViolations()
    }

    @Test func aFollowersReadLostWithItsCrashedLeaderIsAnsweredByTheNextLeader() {
        let cluster = SimulatedCluster(size: 3, seed: 47, traceCapacity: 300)
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        let follower = cluster.ids.first { $0 != leader }!
        cluster.crash(leader)
        // The follower has not noticed yet: it forwards the read to the dead leader.
        guard let context = cluster.requestReadOrRecord(at: follower) else { return }
        let answered = cluster.run(upTo: 200) { cluster.hasAnsweredRead(context, at: follower) }
        #expect(answered, "the read was never answered after the leader crashed\n\(cluster.trace)")
        cluster.expectNoViolations()
    }

    @Test func aReadPendingAtALeaderThatLostItsTermIsAnsweredByTheNextLeader() {
        let cluster = SimulatedCluster(size: 3, seed: 53, traceCapacity: 300)
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("no leader")
            return
        }
        cluster.isolate(leader)
        guard let context = cluster.requestReadOrRecord(at: leader) else { return }
        let replaced = cluster.run(upTo: 200) { cluster.leader.map { $0 != leader } ?? false }
        #expect(replaced, "fixture: the others elected no new leader")
        cluster.heal()
        let answered = cluster.run(upTo: 200) { cluster.hasAnsweredRead(context, at: leader) }
        #expect(answered, "the old leader's read was never answered after it rejoined\n\(cluster.trace)")
        cluster.expectNoViolations()
    }
}
