import Testing
@testable import ReplicaCore

/// CheckQuorum (Raft thesis §6.2 and §4.2.3): a leader that has not heard
/// from a quorum for an election timeout steps down, and a replica that
/// heard from its leader within an election timeout (its lease) ignores vote
/// and pre-vote requests of a higher term, unless they come from a
/// leadership transfer.
@Suite(.recordsCoreInvariants) struct CheckQuorumRuleTests {
    static let electionTick = 10

    // MARK: Leader steps down

    struct StepDownCase: CustomTestStringConvertible, Sendable {
        var voterCount: Int
        /// Followers that answer after every tick, and with what.
        var responders: [UInt64]
        var answer: MessageSample = .heartbeatResponse
        /// The term of those answers, relative to the leader's (0 means the same term).
        var answerTermOffset: Int = 0
        var checkQuorum = true
        var staysLeader: Bool

        var testDescription: String {
            "\(voterCount) voters, \(responders) answer with \(answer)\(answerTermOffset < 0 ? " of an older term" : ""), "
                + "checkQuorum \(checkQuorum)"
        }
    }

    @Test(arguments: [
        StepDownCase(voterCount: 3, responders: [], staysLeader: false),
        StepDownCase(voterCount: 3, responders: [2], staysLeader: true),
        StepDownCase(voterCount: 3, responders: [2], answer: .appendResponse, staysLeader: true),
        StepDownCase(voterCount: 3, responders: [3], answer: .snapshotResponse, staysLeader: true),
        StepDownCase(voterCount: 3, responders: [2], answerTermOffset: -1, staysLeader: false),
        StepDownCase(voterCount: 3, responders: [2], answer: .voteResponse, staysLeader: false),
        StepDownCase(voterCount: 5, responders: [2], staysLeader: false),
        StepDownCase(voterCount: 5, responders: [2, 5], staysLeader: true),
        StepDownCase(voterCount: 5, responders: [2, 3, 4, 5], staysLeader: true),
        StepDownCase(voterCount: 3, responders: [], checkQuorum: false, staysLeader: true),
        StepDownCase(voterCount: 1, responders: [], staysLeader: true),
    ])
    func leaderStepsDownWithoutHearingFromAQuorumForAnElectionTimeout(_ testCase: StepDownCase) {
        let node = makeReplica(role: .leader, term: 3, logTerms: [1], voters: voterIDs(testCase.voterCount)) {
            $0.checkQuorum = testCase.checkQuorum
        }
        let answerTerm = Term(UInt64(3 + testCase.answerTermOffset))
        var ticks = 0
        while ticks < 3 * Self.electionTick && node.role == .leader {
            node.tick()
            ticks += 1
            for responder in testCase.responders {
                node.step(incoming(Self.answerKind(testCase.answer), from: NodeID(responder), term: answerTerm))
            }
            _ = node.takeMessages()
        }
        if testCase.staysLeader {
            #expect(node.role == .leader, "CheckQuorum rule broke for \(testCase): stepped down after \(ticks) ticks")
        } else {
            #expect(
                node.role == .follower && node.term == 3 && node.leader == nil && ticks == Self.electionTick,
                "CheckQuorum rule broke for \(testCase): after \(ticks) ticks \(ReplicaSummary(node)), expected a follower of t3 after exactly \(Self.electionTick)")
        }
    }

    /// The representative of `sample`; a vote response is refused so that it cannot count as support.
    static func answerKind(_ sample: MessageSample) -> RaftMessage.Kind {
        switch sample {
        case .voteResponse: .voteResponse(VoteResponse(granted: false))
        case .snapshotResponse: .snapshotResponse(SnapshotResponse(metadata: SnapshotMetadata(index: 1, term: 1), nextOffset: 0))
        default: sample.kind
        }
    }

    // MARK: Lease

    enum LeaseState: String, Sendable {
        /// Heard from the leader a few ticks ago.
        case inLease
        /// Heard from the leader an election timeout ago or more.
        case expired
        /// Never heard from a leader in this term.
        case noLeader
    }

    struct LeaseCase: CustomTestStringConvertible, Sendable {
        var name: String
        var role: RaftRole = .follower
        var lease: LeaseState
        var isPreVote: Bool
        var isLeadershipTransfer = false
        var checkQuorum = true
        var upToDate = true
        /// nil: ignored, no answer at all.
        var granted: Bool?
        var expectedTerm: UInt64

        var testDescription: String {
            "\(name): \(role) \(lease), \(isPreVote ? "pre-vote" : "vote")\(isLeadershipTransfer ? " (transfer)" : "") "
                + "request of t6, checkQuorum \(checkQuorum), candidate up to date \(upToDate)"
        }
    }

    static let leaseCases: [LeaseCase] = [
        LeaseCase(name: "vote in lease", lease: .inLease, isPreVote: false, granted: nil, expectedTerm: 2),
        LeaseCase(name: "pre-vote in lease", lease: .inLease, isPreVote: true, granted: nil, expectedTerm: 2),
        LeaseCase(name: "stale candidate in lease", lease: .inLease, isPreVote: false, upToDate: false, granted: nil, expectedTerm: 2),
        LeaseCase(name: "leader itself", role: .leader, lease: .inLease, isPreVote: false, granted: nil, expectedTerm: 2),
        LeaseCase(name: "leader itself, pre-vote", role: .leader, lease: .inLease, isPreVote: true, granted: nil, expectedTerm: 2),
        LeaseCase(
            name: "transfer overrides the lease", lease: .inLease, isPreVote: false, isLeadershipTransfer: true, granted: true,
            expectedTerm: 6),
        LeaseCase(
            name: "transfer overrides the leader's own lease", role: .leader, lease: .inLease, isPreVote: false,
            isLeadershipTransfer: true, granted: true, expectedTerm: 6),
        LeaseCase(name: "vote after the lease", lease: .expired, isPreVote: false, granted: true, expectedTerm: 6),
        LeaseCase(name: "pre-vote after the lease", lease: .expired, isPreVote: true, granted: true, expectedTerm: 2),
        LeaseCase(name: "stale candidate after the lease", lease: .expired, isPreVote: false, upToDate: false, granted: false, expectedTerm: 6),
        LeaseCase(name: "vote with no leader", lease: .noLeader, isPreVote: false, granted: true, expectedTerm: 6),
        LeaseCase(name: "pre-vote with no leader", lease: .noLeader, isPreVote: true, granted: true, expectedTerm: 2),
        LeaseCase(name: "vote in lease without CheckQuorum", lease: .inLease, isPreVote: false, checkQuorum: false, granted: true, expectedTerm: 6),
        LeaseCase(name: "pre-vote in lease without CheckQuorum", lease: .inLease, isPreVote: true, checkQuorum: false, granted: true, expectedTerm: 2),
    ]

    @Test(arguments: leaseCases)
    func replicaInItsLeaderLeaseIgnoresHigherTermVoteRequests(_ testCase: LeaseCase) throws {
        let node = try makeLeaseHolder(in: testCase.lease, role: testCase.role, checkQuorum: testCase.checkQuorum)
        let before = ReplicaSummary(node)
        let last: (index: LogIndex, term: Term) = testCase.upToDate ? (5, 2) : (1, 1)
        let request = VoteRequest(lastLogIndex: last.index, lastLogTerm: last.term, isLeadershipTransfer: testCase.isLeadershipTransfer)
        node.step(incoming(testCase.isPreVote ? .preVoteRequest(request) : .voteRequest(request), from: 3, term: 6))
        let answers = node.takeMessages().filter { $0.voteResponse != nil || $0.preVoteResponse != nil }
        let granted = answers.first.flatMap { $0.voteResponse?.granted ?? $0.preVoteResponse?.granted }
        #expect(
            answers.count == (testCase.granted == nil ? 0 : 1) && granted == testCase.granted,
            "lease rule broke for \(testCase): answers \(answers.summary), expected \(testCase.granted.map { $0 ? "a grant" : "a refusal" } ?? "none")")
        #expect(node.term == Term(testCase.expectedTerm), "lease rule broke for \(testCase): \(before) became \(ReplicaSummary(node))")
        if testCase.granted == nil {
            #expect(ReplicaSummary(node) == before, "lease rule broke for \(testCase): an ignored request changed \(before) into \(ReplicaSummary(node))")
        }
    }

    /// Replica 1 of three at term 2 with log [1, 2, 2, 2, 2] (so last i5 t2 is up to date).
    private func makeLeaseHolder(in lease: LeaseState, role: RaftRole, checkQuorum: Bool) throws -> RaftNode {
        let configure: (inout RaftConfig) -> Void = { $0.checkQuorum = checkQuorum }
        if role == .leader {
            return makeReplica(role: .leader, term: 2, logTerms: [1, 2, 2, 2], configure: configure)
        }
        // Seeds until the randomized timeout exceeds the election tick, so the
        // lease can expire without the follower campaigning on its own.
        for seed: UInt64 in 1...100 {
            let node = makeReplica(role: .follower, term: 2, logTerms: [1, 2, 2, 2, 2]) {
                configure(&$0)
                $0.randomSeed = seed
            }
            guard node.randomizedElectionTimeout > Self.electionTick else { continue }
            switch lease {
            case .noLeader:
                node.tick(times: 2)
            case .inLease:
                node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 2, term: 2))
                node.tick(times: Self.electionTick - 1)
            case .expired:
                node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 2, term: 2))
                node.tick(times: Self.electionTick)
            }
            _ = node.takeMessages()
            try #require(node.role == .follower, "fixture follower campaigned: \(ReplicaSummary(node))")
            return node
        }
        preconditionFailure("no seed gives an election timeout above \(Self.electionTick)")
    }
}
