import Testing
@testable import ReplicaCore

/// Raft thesis §3.10, leadership transfer: the leader stops taking proposals,
/// brings the target's log up to date, then sends it `timeoutNow`; the target
/// campaigns at once, skipping the pre-election; a transfer that has not
/// finished within an election timeout is abandoned; a transfer to the leader
/// itself is ignored and one to a replica that is not a voter refused.
@Suite(.recordsCoreInvariants) struct LeaderTransferRuleTests {
    static let electionTick = 10

    /// Leader 1 of three at term 2 with log [1] and its no-op at 2, plus `proposals` entries.
    private func makeTransferringLeader(proposals: Int = 0) throws -> RaftNode {
        let node = makeReplica(role: .leader, term: 2, logTerms: [1])
        for proposal in 0..<proposals { _ = try node.propose([UInt8(proposal)]) }
        _ = node.takeMessages()
        return node
    }

    // MARK: timeoutNow once the target is up to date

    struct CatchUpCase: CustomTestStringConvertible, Sendable {
        var name: String
        var proposals: Int
        /// What the target acknowledged before the transfer (0: nothing yet).
        var acknowledgedBefore: UInt64
        /// What it acknowledges after the transfer request, in order.
        var acknowledgedAfter: [UInt64]
        /// 0: `timeoutNow` goes out with the request; k: after the k-th later acknowledgement; nil: never.
        var timeoutNowAt: Int?

        var testDescription: String {
            "\(name): log ends at \(2 + proposals), target acknowledged \(acknowledgedBefore) then \(acknowledgedAfter)"
        }
    }

    @Test(arguments: [
        CatchUpCase(name: "up to date", proposals: 0, acknowledgedBefore: 2, acknowledgedAfter: [], timeoutNowAt: 0),
        CatchUpCase(name: "up to date with proposals", proposals: 3, acknowledgedBefore: 5, acknowledgedAfter: [], timeoutNowAt: 0),
        CatchUpCase(name: "unknown, then caught up", proposals: 0, acknowledgedBefore: 0, acknowledgedAfter: [2], timeoutNowAt: 1),
        CatchUpCase(name: "lagging by one", proposals: 0, acknowledgedBefore: 1, acknowledgedAfter: [2], timeoutNowAt: 1),
        CatchUpCase(name: "lagging, caught up in steps", proposals: 3, acknowledgedBefore: 1, acknowledgedAfter: [3, 4, 5], timeoutNowAt: 3),
        CatchUpCase(name: "lagging, never caught up", proposals: 3, acknowledgedBefore: 1, acknowledgedAfter: [3, 4], timeoutNowAt: nil),
    ])
    func targetGetsTimeoutNowOnlyOnceItsLogIsUpToDate(_ testCase: CatchUpCase) throws {
        let node = try makeTransferringLeader(proposals: testCase.proposals)
        let target: NodeID = 2
        if testCase.acknowledgedBefore > 0 {
            node.step(incoming(.appendResponse(AppendResponse(index: LogIndex(testCase.acknowledgedBefore))), from: target, term: 2))
            _ = node.takeMessages()
        }
        try node.transferLeadership(to: target)
        var timeoutNowSteps: [Int] = []
        var sent = node.takeMessages()
        if sent.contains(where: { $0.to == target && $0.isTimeoutNow }) { timeoutNowSteps.append(0) }
        if testCase.acknowledgedBefore < 2 + UInt64(testCase.proposals) && testCase.acknowledgedBefore > 0 {
            #expect(
                sent.contains { $0.to == target && $0.appendRequest != nil },
                "rule §3.10 (catch the target up) broke for \(testCase): no append to the lagging target in \(sent.summary)")
        }
        for (step, index) in testCase.acknowledgedAfter.enumerated() {
            node.step(incoming(.appendResponse(AppendResponse(index: LogIndex(index))), from: target, term: 2))
            sent = node.takeMessages()
            if sent.contains(where: { $0.to == target && $0.isTimeoutNow }) { timeoutNowSteps.append(step + 1) }
        }
        let expected = testCase.timeoutNowAt.map { [$0] } ?? []
        #expect(
            timeoutNowSteps == expected,
            "rule §3.10 (timeoutNow once up to date) broke for \(testCase): timeoutNow at steps \(timeoutNowSteps), expected \(expected)")
        #expect(node.role == .leader && node.leadershipTransferTarget == target, "rule §3.10 broke for \(testCase): \(ReplicaSummary(node))")
    }

    // MARK: Proposals during a transfer

    enum TransferPhase: String, CaseIterable, Sendable {
        case beforeTransfer, duringTransfer, afterAbandonment, afterTargetTookOver
    }

    @Test(arguments: TransferPhase.allCases)
    func leaderRefusesProposalsWhileTransferring(phase: TransferPhase) throws {
        let node = try makeTransferringLeader()
        if phase != .beforeTransfer {
            try node.transferLeadership(to: 2)
        }
        switch phase {
        case .beforeTransfer, .duringTransfer:
            break
        case .afterAbandonment:
            for _ in 0..<Self.electionTick {
                node.tick()
                node.step(incoming(.heartbeatResponse(HeartbeatResponse()), from: 3, term: 2))
            }
        case .afterTargetTookOver:
            node.step(incoming(.heartbeat(Heartbeat(commit: 2)), from: 2, term: 3))
        }
        let expected: RaftRequestError? =
            switch phase {
            case .beforeTransfer, .afterAbandonment: nil
            case .duringTransfer: .leadershipTransferInProgress
            case .afterTargetTookOver: .notLeader(leaderHint: 2)
            }
        var refusal: RaftRequestError?
        do {
            _ = try node.propose([1])
        } catch {
            refusal = error
        }
        #expect(refusal == expected, "rule §3.10 (no proposals during a transfer) broke \(phase): got \(String(describing: refusal)), expected \(String(describing: expected))")
    }

    // MARK: Abandonment

    @Test(arguments: [1, 5, 9, 10, 15])
    func transferIsAbandonedAfterAnElectionTimeout(ticks: Int) throws {
        let node = try makeTransferringLeader()
        // n2 never answers, so it never catches up; n3 keeps the leader's quorum.
        try node.transferLeadership(to: 2)
        for _ in 0..<ticks {
            node.tick()
            node.step(incoming(.heartbeatResponse(HeartbeatResponse()), from: 3, term: 2))
        }
        let expectedTarget: NodeID? = ticks < Self.electionTick ? 2 : nil
        #expect(
            node.role == .leader && node.leadershipTransferTarget == expectedTarget,
            "rule §3.10 (abandon after an election timeout) broke after \(ticks) ticks: \(ReplicaSummary(node)), target \(String(describing: node.leadershipTransferTarget))")
    }

    // MARK: The target campaigns at once

    struct TimeoutNowCase: CustomTestStringConvertible, Sendable {
        var role: RaftRole
        var preVote: Bool
        var campaigns: Bool
        var testDescription: String { "\(role) gets timeoutNow, preVote \(preVote)" }
    }

    @Test(arguments: [
        TimeoutNowCase(role: .follower, preVote: true, campaigns: true),
        TimeoutNowCase(role: .follower, preVote: false, campaigns: true),
        TimeoutNowCase(role: .preCandidate, preVote: true, campaigns: false),
        TimeoutNowCase(role: .candidate, preVote: true, campaigns: false),
        TimeoutNowCase(role: .leader, preVote: true, campaigns: false),
    ])
    func timeoutNowMakesAFollowerCampaignAtOnceWithoutPreVote(_ testCase: TimeoutNowCase) {
        let node = makeReplica(2, role: testCase.role, term: 3, logTerms: [1, 2]) { $0.preVote = testCase.preVote }
        let before = ReplicaSummary(node)
        node.step(incoming(.timeoutNow, from: 1, to: 2, term: 3))
        let sent = node.takeMessages()
        guard testCase.campaigns else {
            #expect(ReplicaSummary(node) == before && sent.isEmpty, "rule §3.10 broke for \(testCase): \(before) became \(ReplicaSummary(node)), sent \(sent.summary)")
            return
        }
        #expect(
            node.role == .candidate && node.term == 4 && node.vote == 2,
            "rule §3.10 (campaign at once) broke for \(testCase): \(ReplicaSummary(node))")
        let requests = sent.compactMap(\.voteRequest)
        #expect(
            requests.count == 2 && requests.allSatisfy(\.isLeadershipTransfer) && sent.allSatisfy { $0.preVoteRequest == nil },
            "rule §3.10 (skip the pre-vote, flag the transfer) broke for \(testCase): sent \(sent.summary)")
    }

    // MARK: Whole transfers

    struct RoundTripCase: CustomTestStringConvertible, Sendable {
        var target: NodeID
        /// Entries the target missed while cut off before the transfer.
        var missedEntries: Int
        var testDescription: String { "transfer to \(target), which missed \(missedEntries) entries" }
    }

    @Test(arguments: [
        RoundTripCase(target: 2, missedEntries: 0), RoundTripCase(target: 3, missedEntries: 0),
        RoundTripCase(target: 2, missedEntries: 3),
    ])
    func transferHandsLeadershipToTheTarget(_ testCase: RoundTripCase) throws {
        var network = RuleNetwork(replicas: [1: makeNode(1), 2: makeNode(2), 3: makeNode(3)])
        let leader = network.replicas[1]!
        leader.campaign()
        network.settle()
        try #require(leader.role == .leader, "fixture: n1 did not win")
        if testCase.missedEntries > 0 {
            network.isolated = [testCase.target]
            for entry in 0..<testCase.missedEntries { _ = try leader.propose([UInt8(entry)]) }
            network.settle()
            network.isolated = []
        }
        let lastIndex = leader.log.lastIndex()
        try leader.transferLeadership(to: testCase.target)
        network.settle()
        let newLeader = network.replicas[testCase.target]!
        #expect(
            newLeader.role == .leader && newLeader.term == 2,
            "rule §3.10 (transfer completes) broke for \(testCase): target is \(ReplicaSummary(newLeader))")
        #expect(
            newLeader.log.lastIndex() == lastIndex + 1,
            "rule §3.10 broke for \(testCase): the new leader's log ends at \(newLeader.log.lastIndex()), expected \(lastIndex) plus its no-op")
        for (id, replica) in network.replicas where id != testCase.target {
            #expect(
                replica.role == .follower && replica.leader == testCase.target && replica.term == 2,
                "rule §3.10 broke for \(testCase): \(id) is \(ReplicaSummary(replica))")
        }
    }

    // MARK: Invalid targets

    enum TransferRequestCase: String, CaseIterable, Sendable {
        case toSelf, toNonVoter, repeatedToSameTarget, forwardedToSelf, forwardedToNonVoter
        case fromFollowerWithLeader, fromFollowerWithoutLeader, fromFollowerToNonVoter
    }

    @Test(arguments: TransferRequestCase.allCases)
    func transferToSelfIsIgnoredAndToANonVoterRefused(_ testCase: TransferRequestCase) throws {
        let isLeaderCase = ![.fromFollowerWithLeader, .fromFollowerWithoutLeader, .fromFollowerToNonVoter].contains(testCase)
        let node = try isLeaderCase ? makeTransferringLeader() : makeReplica(role: .follower, term: 2, logTerms: [1])
        if isLeaderCase {
            node.step(incoming(.appendResponse(AppendResponse(index: 2)), from: 2, term: 2))
            _ = node.takeMessages()
        }
        var refusal: RaftRequestError?
        do {
            switch testCase {
            case .toSelf: try node.transferLeadership(to: 1)
            case .toNonVoter, .fromFollowerToNonVoter: try node.transferLeadership(to: 9)
            case .repeatedToSameTarget:
                try node.transferLeadership(to: 2)
                _ = node.takeMessages()
                try node.transferLeadership(to: 2)
            case .forwardedToSelf:
                node.step(incoming(.transferLeader(TransferLeaderRequest(target: 1)), from: 3, term: 0))
            case .forwardedToNonVoter:
                node.step(incoming(.transferLeader(TransferLeaderRequest(target: 9)), from: 3, term: 0))
            case .fromFollowerWithLeader:
                node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 3, term: 2))
                _ = node.takeMessages()
                try node.transferLeadership(to: 2)
            case .fromFollowerWithoutLeader:
                try node.transferLeadership(to: 2)
            }
        } catch {
            refusal = error
        }
        let sent = node.takeMessages()
        let expectedRefusal: RaftRequestError? =
            switch testCase {
            case .toNonVoter, .fromFollowerToNonVoter: .unknownNode(9)
            case .fromFollowerWithoutLeader: .notLeader(leaderHint: nil)
            default: nil
            }
        #expect(refusal == expectedRefusal, "rule §3.10 (invalid targets) broke for \(testCase): got \(String(describing: refusal)), expected \(String(describing: expectedRefusal))")
        if testCase == .fromFollowerWithLeader {
            #expect(
                sent.count == 1 && sent.first?.to == 3 && sent.first?.kind == .transferLeader(TransferLeaderRequest(target: 2)),
                "rule §3.10 (follower forwards the request) broke: sent \(sent.summary)")
            return
        }
        #expect(sent.allSatisfy { !$0.isTimeoutNow && $0.to != 9 }, "rule §3.10 broke for \(testCase): sent \(sent.summary)")
        if isLeaderCase {
            let expectedTarget: NodeID? = testCase == .repeatedToSameTarget ? 2 : nil
            #expect(
                node.role == .leader && node.leadershipTransferTarget == expectedTarget,
                "rule §3.10 broke for \(testCase): transfer target \(String(describing: node.leadershipTransferTarget))")
        }
    }
}
