import Testing
@testable import ReplicaCore

/// The configuration changes an operator makes, each run in the simulator with every
/// invariant checked at every step (one leader per term, overlapping majorities between
/// successive configurations, no lost or reordered entry) and with client proposals
/// flowing throughout.
@Suite(.recordsCoreInvariants) struct MembershipScenarioTests {
    static let seeds: [UInt64] = [1, 2, 3]

    /// Proposes at the leader until `count` proposals were accepted, stepping between them.
    private func keepProposing(_ cluster: SimulatedCluster, count: Int = 5) {
        var accepted = 0
        for _ in 0..<(count * 20) where accepted < count {
            if let leader = cluster.leader, case .success = cluster.propose(at: leader) { accepted += 1 }
            cluster.step()
        }
    }

    /// Proposes `change` at the leader, then runs until it is committed; fails the test otherwise.
    @discardableResult
    private func change(
        _ cluster: SimulatedCluster, sourceLocation: SourceLocation = #_sourceLocation,
        _ transform: (Membership) -> Membership
    ) -> Membership? {
        guard let leader = cluster.waitForStableLeader() else {
            Issue.record("no leader to propose the change", sourceLocation: sourceLocation)
            return nil
        }
        // A new leader first commits an entry of its term.
        cluster.run(upTo: 100) { cluster.node(leader).hasCommittedEntryInCurrentTerm }
        switch cluster.proposeMembership(at: leader, transform) {
        case .failure(let error):
            Issue.record("change refused: \(error)", sourceLocation: sourceLocation)
            return nil
        case .success(let placed):
            // Applied somewhere means committed.
            let committed = cluster.run(upTo: 300) {
                cluster.replicas.contains { $0.isUp && $0.stateMachine.appliedIndex >= placed.index }
            }
            if !committed { Issue.record("change at \(placed.index) not committed", sourceLocation: sourceLocation) }
            return cluster.currentMembership
        }
    }

    /// Adds `id` as a learner, waits until it caught up, and promotes it.
    private func addVoter(_ id: NodeID, to cluster: SimulatedCluster, sourceLocation: SourceLocation = #_sourceLocation) {
        change(cluster, sourceLocation: sourceLocation) { $0.addingLearner(id, address: "sim://\(id)") }
        let caughtUp = cluster.run(upTo: 300) {
            guard let leader = cluster.leader else { return false }
            let leaderNode = cluster.node(leader)
            return leaderNode.status().progress[id]?.match == leaderNode.log.lastIndex()
        }
        #expect(caughtUp, "learner \(id) caught up", sourceLocation: sourceLocation)
        change(cluster, sourceLocation: sourceLocation) { $0.promoting(id) }
    }

    private func expectEveryMemberHoldsEverything(_ cluster: SimulatedCluster, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let leader = cluster.waitForConvergedLeader() else {
            Issue.record("cluster did not converge", sourceLocation: sourceLocation)
            return
        }
        let expected = cluster.appliedProposals(of: leader)
        for member in cluster.node(leader).membership.members where cluster.isUp(member) {
            #expect(cluster.appliedProposals(of: member) == expected, "\(member) applied what the leader applied", sourceLocation: sourceLocation)
        }
        #expect(Set(cluster.checker.acknowledgedProposals.keys).isSubset(of: expected), sourceLocation: sourceLocation)
    }

    @Test(arguments: seeds)
    func growFromThreeToFiveVoters(seed: UInt64) {
        let cluster = SimulatedCluster(size: 5, voters: 3, seed: seed, traceCapacity: 300) { $0.maxPromotionLag = 2 }
        keepProposing(cluster)
        addVoter(4, to: cluster)
        keepProposing(cluster)
        addVoter(5, to: cluster)
        keepProposing(cluster)
        expectEveryMemberHoldsEverything(cluster)
        #expect(cluster.currentMembership.voters == [1, 2, 3, 4, 5])
        // Five voters now survive two crashes.
        let leader = cluster.leader!
        for victim in cluster.ids.filter({ $0 != leader }).prefix(2) { cluster.crash(victim) }
        keepProposing(cluster)
        #expect(cluster.propose(at: cluster.waitForStableLeader()!).isSuccess)
        cluster.expectNoViolations()
    }

    @Test(arguments: seeds)
    func shrinkFromFiveToThreeVotersRemovingTheLeader(seed: UInt64) {
        let cluster = SimulatedCluster(size: 5, seed: seed, traceCapacity: 300)
        keepProposing(cluster)
        let firstLeader = cluster.waitForStableLeader()!
        change(cluster) { $0.removing(firstLeader) }
        keepProposing(cluster)
        let secondLeader = cluster.waitForStableLeader()!
        #expect(secondLeader != firstLeader)
        let other = cluster.currentMembership.voters.first { $0 != secondLeader }!
        change(cluster) { $0.removing(other) }
        keepProposing(cluster)
        #expect(cluster.currentMembership.voters.count == 3)
        expectEveryMemberHoldsEverything(cluster)
        cluster.expectNoViolations()
    }

    @Test(arguments: seeds)
    func removedLeaderHandsOverAndStepsDownOnceTheRemovalCommits(seed: UInt64) {
        let cluster = SimulatedCluster(size: 3, seed: seed, traceCapacity: 300)
        keepProposing(cluster)
        let leader = cluster.waitForStableLeader()!
        let term = cluster.node(leader).term
        guard case .success(let placed) = cluster.proposeMembership(at: leader, { $0.removing(leader) }) else {
            Issue.record("removal refused")
            return
        }
        #expect(cluster.node(leader).role == .leader, "it leads until the removal commits")
        cluster.settle()
        #expect(cluster.node(leader).role == .follower, "it stepped down")
        // The successor was told to campaign at once: it leads without an election timeout.
        let successor = cluster.waitForLeader(among: cluster.currentMembership.voters, maxSteps: 5)
        #expect(successor != nil && successor != leader, "an up-to-date voter took over without waiting")
        #expect(cluster.node(successor ?? leader).term == term.next)
        #expect(cluster.node(successor ?? leader).log.committed >= placed.index)
        keepProposing(cluster)
        cluster.expectNoViolations()
    }

    @Test(arguments: seeds)
    func replaceAVoterWhoseDiskDied(seed: UInt64) {
        let cluster = SimulatedCluster(size: 4, voters: 3, seed: seed, traceCapacity: 300) { $0.maxPromotionLag = 2 }
        keepProposing(cluster)
        let leader = cluster.waitForStableLeader()!
        let dead = cluster.currentMembership.voters.first { $0 != leader }!
        cluster.crash(dead)
        change(cluster) { $0.removing(dead) }
        keepProposing(cluster)
        addVoter(4, to: cluster)
        keepProposing(cluster)
        #expect(cluster.currentMembership.voters == Set([1, 2, 3, 4]).subtracting([dead]).sorted())
        expectEveryMemberHoldsEverything(cluster)
        cluster.expectNoViolations()
    }

    @Test(arguments: seeds)
    func changeInterruptedByALeaderCrashIsEitherKeptOrDropped(seed: UInt64) {
        for loss in [SimulatedDisk.CrashLoss.nothing, .allUnflushed] {
            let cluster = SimulatedCluster(size: 4, voters: 3, seed: seed, traceCapacity: 300) { $0.maxPromotionLag = 2 }
            keepProposing(cluster)
            let leader = cluster.waitForStableLeader()!
            cluster.isolate(leader)
            _ = cluster.proposeMembership(at: leader) { $0.addingLearner(4, address: "sim://4") }
            cluster.crash(leader, losing: loss)
            cluster.heal()
            keepProposing(cluster)
            // Whichever way it went, the next change goes through.
            let current = cluster.currentMembership
            if current.contains(4) {
                change(cluster) { $0.promoting(4) }
            } else {
                addVoter(4, to: cluster)
            }
            cluster.restart(leader)
            keepProposing(cluster)
            #expect(cluster.currentMembership.voters.contains(4))
            expectEveryMemberHoldsEverything(cluster)
            cluster.expectNoViolations()
        }
    }

    @Test(arguments: seeds)
    func learnerThatNeverCatchesUpIsNotPromoted(seed: UInt64) {
        let cluster = SimulatedCluster(size: 4, voters: 3, seed: seed, traceCapacity: 300) { $0.maxPromotionLag = 2 }
        cluster.isolate(4)
        keepProposing(cluster)
        change(cluster) { $0.addingLearner(4, address: "sim://4") }
        keepProposing(cluster, count: 10)
        // The cut-off learner never follows anyone, so there is no stable leader to wait for.
        guard let leader = cluster.leader else {
            Issue.record("no leader")
            return
        }
        let result = cluster.proposeMembership(at: leader) { $0.promoting(4) }
        guard case .failure(.learnerNotCaughtUp) = result else {
            Issue.record("promoting a learner that lags was not refused: \(result)")
            return
        }
        #expect(cluster.currentMembership.isLearner(4))
        // It counts toward nothing: the voters still commit without it.
        #expect(cluster.propose(at: leader).isSuccess)
        keepProposing(cluster)
        cluster.expectNoViolations()
    }

    @Test(arguments: seeds)
    func removedReplicaThatKeepsCampaigningDisruptsNothing(seed: UInt64) {
        let cluster = SimulatedCluster(size: 4, seed: seed, traceCapacity: 300)
        let leader = cluster.waitForStableLeader()!
        let removed = cluster.ids.first { $0 != leader }!
        // It never hears of its removal, so it believes it is still a voter.
        cluster.isolate(removed)
        change(cluster) { $0.removing(removed) }
        keepProposing(cluster)
        let term = cluster.node(leader).term
        cluster.run(steps: 100)  // it times out and campaigns, again and again
        cluster.heal()
        cluster.run(steps: 200)
        #expect(cluster.leader == leader, "the leader kept its place")
        #expect(cluster.node(leader).term == term, "no voter's term was raised")
        #expect(cluster.propose(at: leader).isSuccess)
        cluster.expectNoViolations()
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
