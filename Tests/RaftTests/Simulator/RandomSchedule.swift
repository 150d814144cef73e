import Foundation
@testable import ReplicaCore

/// One seeded run: a safety phase with random faults and client traffic, then
/// a liveness phase in which everything heals and the cluster must converge.
struct RandomSchedule {
    static let safetySteps = 400
    static let livenessElectionBound = 200
    static let livenessCommitBound = 200

    let seed: UInt64
    let isVerbose: Bool
    /// Whether the leader is also asked to change the configuration: add one of two spare
    /// replicas as a learner, promote a learner, remove a member (the leader too).
    var changesMembership = false
    /// Called after every step of the safety phase: lets a test plant a bug in the run.
    var sabotage: ((SimulatedCluster, _ step: Int) -> Void)?

    /// The voter count for `seed`: both 3 and 5 voters are covered.
    var size: Int { seed.isMultiple(of: 2) ? 3 : 5 }
    static let spareCount = 2

    /// Runs the schedule; returns the violations found, with the trace. A broken invariant
    /// inside the core is one of them: it is recorded, not trapped (see `CoreInvariant`).
    func run() -> [String] {
        CoreInvariant.$recorder.withValue(CoreInvariant.Recorder()) { runRecordingCoreInvariants() }
    }

    private func runRecordingCoreInvariants() -> [String] {
        var generator = SeededGenerator(seed: seed)
        let faults = FaultProfile.random(using: &generator)
        let entriesPerMessage = Int.random(in: 1...8, using: &generator)
        let chunkBytes = Int.random(in: 8...64, using: &generator)
        // Drawn only with membership changes, so the older schedules keep their seeds.
        let promotionLag = changesMembership ? Int.random(in: 0...8, using: &generator) : 0
        let cluster = SimulatedCluster(
            size: size + (changesMembership ? Self.spareCount : 0), voters: size, seed: generator.next(), faults: faults,
            traceCapacity: isVerbose ? 0 : 400, isVerbose: isVerbose
        ) { config in
            config.maxEntriesPerMessage = entriesPerMessage
            config.maxInflightMessages = 4
            config.snapshotChunkBytes = chunkBytes
            config.maxPromotionLag = promotionLag
        }
        if Int.random(in: 0..<4, using: &generator) > 0 {
            cluster.snapshotInterval = Int.random(in: 3...20, using: &generator)
            cluster.entriesKeptAfterCompaction = Int.random(in: 0...3, using: &generator)
        }
        cluster.trace.record(SimulationEvent.phase("safety: \(size) replicas, \(faults)"), step: cluster.now)
        for step in 0..<Self.safetySteps where !cluster.checker.isViolated {
            cluster.step()
            actAsClients(on: cluster, using: &generator)
            injectFaults(into: cluster, using: &generator)
            sabotage?(cluster, step)
            cluster.collectCoreInvariantFailures()
        }
        if !cluster.checker.isViolated {
            checkLiveness(of: cluster)
        }
        guard cluster.checker.isViolated else { return [] }
        return cluster.checker.violations + ["last events:\n" + cluster.trace.formatted()]
    }

    private func actAsClients(on cluster: SimulatedCluster, using generator: inout SeededGenerator) {
        let live = cluster.liveIDs
        guard let target = live.randomElement(using: &generator) else { return }
        let roll = Double.random(in: 0..<1, using: &generator)
        if roll < 0.3 {
            if case .failure(.notLeader(let hint?)) = cluster.propose(at: target), cluster.isUp(hint) {
                cluster.propose(at: hint)
            }
        } else if roll < 0.4 {
            cluster.requestRead(at: target)
        } else if roll < 0.403, let leader = cluster.leader, let other = cluster.ids.randomElement(using: &generator) {
            try? cluster.node(leader).transferLeadership(to: other)
            cluster.processAllReadies()
        } else if changesMembership, roll < 0.43, let leader = cluster.leader {
            changeMembership(at: leader, of: cluster, using: &generator)
        }
    }

    private func changeMembership(at leader: NodeID, of cluster: SimulatedCluster, using generator: inout SeededGenerator) {
        let current = cluster.node(leader).membership
        let outsiders = cluster.ids.filter { !current.contains($0) }
        let roll = Int.random(in: 0..<3, using: &generator)
        if roll == 0, let newcomer = outsiders.randomElement(using: &generator) {
            cluster.proposeMembership(at: leader) { $0.addingLearner(newcomer, address: "sim://\(newcomer)") }
        } else if roll == 1, let learner = current.learners.randomElement(using: &generator) {
            cluster.proposeMembership(at: leader) { $0.promoting(learner) }
        } else if current.voters.count > 2 || !current.learners.isEmpty,
            let member = current.members.randomElement(using: &generator)
        {
            cluster.proposeMembership(at: leader) { $0.removing(member) }
        }
    }

    private func injectFaults(into cluster: SimulatedCluster, using generator: inout SeededGenerator) {
        let faults = cluster.faults
        if chance(faults.partitionProbability, &generator) {
            let side = cluster.ids.filter { _ in Bool.random(using: &generator) }
            if !side.isEmpty && side.count < cluster.ids.count {
                cluster.partition(side, oneWay: chance(faults.oneWayPartitionShare, &generator))
            }
        }
        if chance(faults.healProbability, &generator) {
            cluster.heal()
        }
        if chance(faults.crashProbability, &generator), let victim = cluster.survivingIDs.randomElement(using: &generator) {
            let quorum = cluster.size / 2 + 1
            if faults.allowMajorityDown || cluster.survivingIDs.count - 1 >= quorum {
                let roll = Double.random(in: 0..<1, using: &generator)
                let point: SimulatedCluster.CrashPoint =
                    roll < faults.crashWhilePersistingShare
                    ? .whilePersisting
                    : roll < faults.crashWhilePersistingShare + faults.crashBeforeSendingShare
                        ? .afterPersistingBeforeSending : .betweenReadies
                cluster.crash(victim, at: point)
            }
        }
        if chance(faults.restartProbability, &generator),
            let down = cluster.ids.filter({ !cluster.isUp($0) }).randomElement(using: &generator)
        {
            cluster.restart(down)
        }
    }

    private func chance(_ probability: Double, _ generator: inout SeededGenerator) -> Bool {
        probability > 0 && Double.random(in: 0..<1, using: &generator) < probability
    }

    /// Heals everything and checks the cluster elects a leader, commits a new
    /// proposal everywhere, and holds every acknowledged proposal on every replica.
    private func checkLiveness(of cluster: SimulatedCluster) {
        cluster.trace.record(SimulationEvent.phase("liveness"), step: cluster.now)
        cluster.faults = .none
        cluster.disarmCrashes()
        cluster.heal()
        for id in cluster.ids where !cluster.isUp(id) {
            cluster.restart(id)
        }
        guard cluster.waitForStableLeader(maxSteps: Self.livenessElectionBound) != nil else {
            let states = cluster.replicas.map { replica in
                replica.node.map { "\(replica.id): \($0.role) \($0.term) leader \($0.leader.map(\.description) ?? "-") \($0.membership)" }
                    ?? "\(replica.id): down"
            }
            cluster.checker.fail(
                "Liveness: no stable leader \(Self.livenessElectionBound) steps after healing:\n"
                    + states.joined(separator: "\n"))
            return
        }
        // A marker proposal must reach every replica. If leadership moves
        // before it commits it may be lost legitimately, so it is proposed again.
        var marker: (proposalID: UInt64, term: Term)?
        let converged = cluster.run(upTo: Self.livenessCommitBound) {
            guard let leader = cluster.leader else { return false }
            let leaderNode = cluster.node(leader)
            if marker == nil || marker!.term != leaderNode.term,
                case .success(let placed) = cluster.propose(at: leader)
            {
                marker = (placed.proposalID, placed.term)
            }
            guard let marker else { return false }
            let commit = leaderNode.log.committed
            let members = leaderNode.membership
            return cluster.replicas.filter { members.contains($0.id) }.allSatisfy {
                $0.stateMachine.appliedIndex == commit && $0.stateMachine.proposalIDs.contains(marker.proposalID)
            }
        }
        guard converged else {
            let applied = cluster.replicas.map { "\($0.id): \($0.stateMachine.appliedIndex)" }
            cluster.checker.fail("Liveness: proposal \(String(describing: marker)) not applied everywhere; applied \(applied)")
            return
        }
        checkAcknowledgedProposals(in: cluster)
    }

    private func checkAcknowledgedProposals(in cluster: SimulatedCluster) {
        let acknowledged = cluster.checker.acknowledgedProposals
        let members = cluster.currentMembership
        for replica in cluster.replicas where members.contains(replica.id) {
            let held = Set(replica.stateMachine.proposalIDs)
            for (proposalID, index) in acknowledged where !held.contains(proposalID) {
                cluster.checker.fail("Durability: \(replica.id) lacks acknowledged proposal \(proposalID) at \(index)")
            }
        }
    }
}
