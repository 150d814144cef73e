import Testing
@testable import ReplicaCore

/// Raft §5.2 and §5.4.1, the voter's side: at most one vote per term, only for
/// a candidate whose log is at least as up to date, never while following a
/// known leader of the term; a granted vote restarts the election timer and
/// a refusal answers in the voter's own term.
@Suite(.recordsCoreInvariants) struct VotingRuleTests {
    enum PriorVote: String, Sendable {
        case none, forCandidate, forOther
    }

    struct VoteCase: CustomTestStringConvertible, Sendable {
        var name: String
        /// The voter's log, as terms; the voter is at term 3.
        var voterLog: [UInt64] = [1, 2]
        var candidateLast: (index: UInt64, term: UInt64)
        var priorVote: PriorVote = .none
        var knowsLeader = false
        /// The term of the request; the voter is at 3.
        var requestTerm: UInt64 = 3
        var granted: Bool

        var testDescription: String {
            "\(name): voter log \(voterLog) at t3 (vote \(priorVote), leader known \(knowsLeader)), "
                + "candidate last i\(candidateLast.index) t\(candidateLast.term) at t\(requestTerm)"
        }
    }

    static let voteCases: [VoteCase] = [
        // §5.4.1: up to date means a later last term, or the same last term and at least as long.
        VoteCase(name: "same last entry", candidateLast: (2, 2), granted: true),
        VoteCase(name: "longer log of the same last term", candidateLast: (3, 2), granted: true),
        VoteCase(name: "shorter log of the same last term", candidateLast: (1, 2), granted: false),
        VoteCase(name: "shorter log of a later last term", candidateLast: (1, 3), granted: true),
        VoteCase(name: "longer log of an earlier last term", candidateLast: (5, 1), granted: false),
        VoteCase(name: "empty candidate log", candidateLast: (0, 0), granted: false),
        VoteCase(name: "empty logs on both sides", voterLog: [], candidateLast: (0, 0), granted: true),
        // §5.2: one vote per term.
        VoteCase(name: "already voted for this candidate", candidateLast: (2, 2), priorVote: .forCandidate, granted: true),
        VoteCase(name: "already voted for another", candidateLast: (9, 3), priorVote: .forOther, granted: false),
        VoteCase(
            name: "voted for another in an older term", candidateLast: (2, 2), priorVote: .forOther,
            requestTerm: 4, granted: true),
        VoteCase(
            name: "repeat request but log now stale", candidateLast: (1, 1), priorVote: .forCandidate, granted: false),
        // A replica following a leader of the term has no vote to give in that term.
        VoteCase(name: "leader of the term known", candidateLast: (9, 3), knowsLeader: true, granted: false),
        VoteCase(
            name: "leader of an older term known", candidateLast: (2, 2), knowsLeader: true, requestTerm: 4,
            granted: true),
        VoteCase(name: "higher term but stale log", candidateLast: (1, 1), requestTerm: 6, granted: false),
        VoteCase(
            name: "higher term, voted for another, stale log", candidateLast: (1, 2), priorVote: .forOther,
            requestTerm: 6, granted: false),
    ]

    @Test(arguments: voteCases)
    func voterGrantsOnlyOneVotePerTermAndOnlyToUpToDateLogs(_ testCase: VoteCase) {
        let candidate: NodeID = 2
        let other: NodeID = 3
        let vote: NodeID? =
            switch testCase.priorVote {
            case .none: nil
            case .forCandidate: candidate
            case .forOther: other
            }
        let storage = storage(withTerms: testCase.voterLog, hardState: HardState(term: 3, vote: vote))
        // CheckQuorum off: its lease is a separate rule (CheckQuorumRuleTests).
        let node = makeNode(1, storage: storage) {
            $0.checkQuorum = false
            $0.preVote = false
        }
        if testCase.knowsLeader {
            node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: other, term: 3))
            _ = node.takeMessages()
        }
        let request = VoteRequest(
            lastLogIndex: LogIndex(testCase.candidateLast.index), lastLogTerm: Term(testCase.candidateLast.term))
        node.step(incoming(.voteRequest(request), from: candidate, term: Term(testCase.requestTerm)))

        let replies = node.takeMessages()
        guard replies.count == 1, let reply = replies.first, let response = reply.voteResponse, reply.to == candidate else {
            Issue.record("rule §5.2 broke for \(testCase): expected one vote response to n2, got \(replies.summary)")
            return
        }
        #expect(response.granted == testCase.granted, "rule §5.2/§5.4.1 (who gets a vote) broke for \(testCase): granted \(response.granted)")
        let expectedTerm = Term(max(3, testCase.requestTerm))
        #expect(node.term == expectedTerm, "rule §5.1 broke for \(testCase): voter at \(node.term), expected \(expectedTerm)")
        // A grant answers in the candidate's term; a refusal in the voter's, so a stale candidate learns it.
        #expect(reply.term == node.term, "rule §5.2 (answer in the voter's term) broke for \(testCase): answered in \(reply.term)")
        let expectedVote: NodeID? = testCase.granted ? candidate : (testCase.requestTerm > 3 ? nil : vote)
        #expect(
            node.vote == expectedVote,
            "rule §5.2 broke for \(testCase): vote is \(node.vote.map(\.description) ?? "-"), expected \(expectedVote.map(\.description) ?? "-")")
        #expect(
            node.memoryStorage.initialState().vote == expectedVote,
            "rule §5.2 (vote is durable before the answer) broke for \(testCase): storage holds vote \(node.memoryStorage.initialState().vote.map(\.description) ?? "-")")
    }

    // MARK: One vote per term, over a sequence

    struct SequenceCase: CustomTestStringConvertible, Sendable {
        var name: String
        /// Requests in arrival order: (candidate, term); every candidate's log is up to date.
        var requests: [(candidate: UInt64, term: UInt64)]
        var grants: [Bool]

        var testDescription: String { name }
    }

    @Test(arguments: [
        SequenceCase(name: "two candidates, one term", requests: [(2, 1), (3, 1), (2, 1), (3, 1)], grants: [true, false, true, false]),
        SequenceCase(name: "a later term frees the vote", requests: [(2, 1), (3, 2), (2, 2)], grants: [true, true, false]),
        SequenceCase(name: "an older term is not answered", requests: [(2, 2), (3, 1), (3, 2)], grants: [true, false]),
        SequenceCase(
            name: "five candidates, one term", requests: [(5, 4), (4, 4), (3, 4), (2, 4), (5, 4)],
            grants: [true, false, false, false, true]),
    ])
    func voterGrantsAtMostOneCandidatePerTerm(_ testCase: SequenceCase) {
        let node = makeReplica(role: .follower, term: 0, voters: [1, 2, 3, 4, 5]) {
            $0.checkQuorum = false
            $0.preVote = false
        }
        var grants: [Bool] = []
        var grantedPerTerm: [Term: Set<NodeID>] = [:]
        for (candidate, term) in testCase.requests {
            node.step(incoming(.voteRequest(VoteRequest(lastLogIndex: 0, lastLogTerm: 0)), from: NodeID(candidate), term: Term(term)))
            for reply in node.takeMessages() {
                guard let response = reply.voteResponse else { continue }
                grants.append(response.granted)
                if response.granted { grantedPerTerm[reply.term, default: []].insert(reply.to) }
            }
        }
        #expect(grants == testCase.grants, "rule §5.2 (one vote per term) broke for \(testCase): answers \(grants)")
        for (term, candidates) in grantedPerTerm {
            #expect(candidates.count == 1, "rule §5.2 (one vote per term) broke for \(testCase): voted for \(candidates.sorted()) in \(term)")
        }
    }

    // MARK: Election timer

    struct TimerCase: CustomTestStringConvertible, Sendable {
        var name: String
        var isPreVote: Bool
        var candidateLast: (index: UInt64, term: UInt64)
        var restartsTimer: Bool

        var testDescription: String { name }
    }

    @Test(arguments: [
        TimerCase(name: "granted vote", isPreVote: false, candidateLast: (2, 2), restartsTimer: true),
        TimerCase(name: "refused vote (stale log)", isPreVote: false, candidateLast: (1, 1), restartsTimer: false),
        TimerCase(name: "granted pre-vote", isPreVote: true, candidateLast: (2, 2), restartsTimer: false),
        TimerCase(name: "refused pre-vote", isPreVote: true, candidateLast: (1, 1), restartsTimer: false),
    ])
    func onlyAGrantedVoteRestartsTheElectionTimer(_ testCase: TimerCase) {
        let node = makeReplica(role: .follower, term: 3, logTerms: [1, 2]) {
            $0.checkQuorum = false
            $0.preVote = false
        }
        let elapsed = node.randomizedElectionTimeout - 2
        node.tick(times: elapsed)
        let request = VoteRequest(lastLogIndex: LogIndex(testCase.candidateLast.index), lastLogTerm: Term(testCase.candidateLast.term))
        // Same term, so no term change resets the timer on its own.
        node.step(incoming(testCase.isPreVote ? .preVoteRequest(request) : .voteRequest(request), from: 2, term: 3))
        let expected = testCase.restartsTimer ? 0 : elapsed
        #expect(
            node.electionElapsed == expected,
            "rule §5.2 (granting a vote restarts the election timer) broke for \(testCase): elapsed \(node.electionElapsed), expected \(expected)")
        node.tick(times: 2)
        let campaigned = node.role != .follower
        #expect(
            campaigned != testCase.restartsTimer,
            "rule §5.2 broke for \(testCase): after the full timeout the voter is \(ReplicaSummary(node))")
    }
}
