import Testing
@testable import ReplicaCore

extension SimulatedCluster {
    /// Makes `id` campaign (without ticking) until it leads, delivering every message.
    func campaignUntilLeader(_ id: NodeID, attempts: Int = 5) {
        for _ in 0..<attempts where node(id).role != .leader {
            node(id).campaign()
            processAllReadies()
            settle()
        }
    }

    /// Runs until one of `members` leads them all in one term; returns it.
    func waitForLeader(among members: [NodeID], maxSteps: Int = 400) -> NodeID? {
        var found: NodeID?
        run(upTo: maxSteps) {
            guard let leader = members.first(where: { isUp($0) && node($0).role == .leader }) else { return false }
            let term = node(leader).term
            let followed = members.allSatisfy { !isUp($0) || (node($0).term == term && node($0).leader == leader) }
            if followed { found = leader }
            return followed
        }
        return found
    }

    /// Proposes `count` entries at `leader` that reach `follower` only, whose acknowledgements
    /// never come back, so they stay uncommitted. Leaves the network partitioned.
    func replicateUncommittedTail(
        from leader: NodeID, to follower: NodeID, count: Int = 3
    ) -> [(proposalID: UInt64, index: LogIndex, term: Term)] {
        partition([leader, follower])
        network.partition([follower], from: [leader], oneWay: true)
        let tail = (0..<count).compactMap { _ in proposeOrFail(at: leader) }
        settle()
        return tail
    }

    /// Requests a linearizable read at `id` and returns its context; records an issue and
    /// returns nil when it is refused.
    func requestReadOrRecord(at id: NodeID) -> UInt64? {
        guard case .success(let context) = requestRead(at: id) else {
            Issue.record("the read at \(id) was refused")
            return nil
        }
        return context
    }

    /// Whether `id` has surfaced an answer to its read `context`.
    func hasAnsweredRead(_ context: UInt64, at id: NodeID) -> Bool {
        answeredReads[id]?.contains { $0.context == context } == true
    }

    /// The proposal identifiers a replica has applied.
    func appliedProposals(of id: NodeID) -> [UInt64] {
        replica(id).stateMachine.proposalIDs
    }

    func proposeOrFail(at id: NodeID, sourceLocation: SourceLocation = #_sourceLocation) -> (proposalID: UInt64, index: LogIndex, term: Term)? {
        switch propose(at: id) {
        case .success(let placed):
            return placed
        case .failure(let error):
            Issue.record("proposal at \(id) refused: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Records every invariant violation as a test issue, with the trace.
    func expectNoViolations(sourceLocation: SourceLocation = #_sourceLocation) {
        guard checker.isViolated else { return }
        Issue.record(
            "\(checker.violations.joined(separator: "\n"))\nlast events:\n\(trace.formatted())",
            sourceLocation: sourceLocation)
    }

    /// Whether the leader committed its whole log and every live replica applied all of it.
    var isConverged: Bool {
        guard let leader else { return false }
        let commit = node(leader).log.committed
        guard commit == node(leader).log.lastIndex() else { return false }
        let members = node(leader).membership
        return replicas.allSatisfy { !$0.isUp || !members.contains($0.id) || $0.stateMachine.appliedIndex == commit }
    }

    /// Waits for a stable leader and a converged cluster.
    func waitForConvergedLeader(maxSteps: Int = 400) -> NodeID? {
        guard waitForStableLeader(maxSteps: maxSteps) != nil, run(upTo: maxSteps, until: { isConverged }) else {
            return nil
        }
        return leader
    }
}
