import Testing
@testable import ReplicaCore

/// Raft thesis §9.6, PreVote: a replica first asks whether it could win an
/// election, without raising its term; voters answer as they would vote, but
/// for a later term even if they already voted; only a quorum of such answers
/// starts the real election.
@Suite(.recordsCoreInvariants) struct PreVoteRuleTests {
    // MARK: The pre-election keeps term and vote

    struct PreElectionCase: CustomTestStringConvertible, Sendable {
        var name: String
        var term: UInt64
        var vote: UInt64?
        var refusals: [UInt64]

        var testDescription: String { "\(name): at t\(term) vote \(vote.map(String.init) ?? "-"), refused by \(refusals)" }
    }

    @Test(arguments: [
        PreElectionCase(name: "fresh replica", term: 0, vote: nil, refusals: []),
        PreElectionCase(name: "voted in its term", term: 4, vote: 3, refusals: []),
        PreElectionCase(name: "refused by all", term: 4, vote: 3, refusals: [2, 3]),
        PreElectionCase(name: "refused by one", term: 2, vote: nil, refusals: [3]),
    ])
    func preElectionDoesNotChangeTermOrVote(_ testCase: PreElectionCase) {
        let hardState = HardState(term: Term(testCase.term), vote: testCase.vote.map { NodeID($0) })
        let node = makeNode(1, storage: storage(withTerms: testCase.term > 0 ? [testCase.term] : [], hardState: hardState))
        node.campaign()
        let ready = node.processReady()
        #expect(ready.hardState == nil, "rule §9.6 (pre-election changes no durable state) broke for \(testCase): wrote \(String(describing: ready.hardState))")
        let requests = ready.messages.filter { $0.preVoteRequest != nil }
        #expect(
            requests.count == 2 && requests.allSatisfy { $0.term == Term(testCase.term + 1) },
            "rule §9.6 broke for \(testCase): pre-vote requests \(ready.messages.summary) must ask for t\(testCase.term + 1)")
        for voter in testCase.refusals {
            node.step(incoming(.preVoteResponse(VoteResponse(granted: false)), from: NodeID(voter), term: Term(testCase.term)))
        }
        #expect(
            node.term == Term(testCase.term) && node.vote == hardState.vote,
            "rule §9.6 (pre-election keeps term and vote) broke for \(testCase): \(ReplicaSummary(node))")
        let expectedRole: RaftRole = testCase.refusals.count == 2 ? .follower : .preCandidate
        #expect(node.role == expectedRole, "rule §9.6 broke for \(testCase): \(node.role), expected \(expectedRole)")
    }

    // MARK: Granting pre-votes

    struct GrantCase: CustomTestStringConvertible, Sendable {
        var name: String
        /// The voter: log [1, 2], at term 3.
        var vote: UInt64? = nil
        var knowsLeader = false
        var requestTerm: UInt64 = 4
        var candidateLast: (index: UInt64, term: UInt64)
        var granted: Bool

        var testDescription: String {
            "\(name): voter [1, 2] at t3 (vote \(vote.map(String.init) ?? "-"), leader known \(knowsLeader)), "
                + "pre-candidate last i\(candidateLast.index) t\(candidateLast.term) for t\(requestTerm)"
        }
    }

    static let grantCases: [GrantCase] = [
        GrantCase(name: "up to date", candidateLast: (2, 2), granted: true),
        GrantCase(name: "later last term", candidateLast: (1, 3), granted: true),
        GrantCase(name: "shorter log", candidateLast: (1, 2), granted: false),
        GrantCase(name: "earlier last term", candidateLast: (4, 1), granted: false),
        GrantCase(name: "voted for another this term", vote: 3, candidateLast: (2, 2), granted: true),
        GrantCase(name: "voted for another, stale log", vote: 3, candidateLast: (1, 1), granted: false),
        GrantCase(name: "follows a leader (no lease)", knowsLeader: true, candidateLast: (2, 2), granted: true),
        GrantCase(name: "same term, not voted", requestTerm: 3, candidateLast: (2, 2), granted: true),
        GrantCase(name: "same term, voted for another", vote: 3, requestTerm: 3, candidateLast: (2, 2), granted: false),
        GrantCase(name: "same term, leader known", knowsLeader: true, requestTerm: 3, candidateLast: (2, 2), granted: false),
        GrantCase(name: "older term", requestTerm: 2, candidateLast: (5, 3), granted: false),
        GrantCase(name: "far later term", vote: 3, requestTerm: 9, candidateLast: (2, 2), granted: true),
    ]

    @Test(arguments: grantCases)
    func voterGrantsPreVotesToUpToDateLogsForALaterTermEvenAfterVoting(_ testCase: GrantCase) {
        let vote = testCase.vote.map { NodeID($0) }
        let node = makeNode(1, storage: storage(withTerms: [1, 2], hardState: HardState(term: 3, vote: vote))) {
            // CheckQuorum's lease is its own rule (CheckQuorumRuleTests).
            $0.checkQuorum = false
        }
        if testCase.knowsLeader {
            node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 3, term: 3))
            _ = node.takeMessages()
        }
        let before = ReplicaSummary(node)
        let elapsed = node.electionElapsed
        let request = VoteRequest(lastLogIndex: LogIndex(testCase.candidateLast.index), lastLogTerm: Term(testCase.candidateLast.term))
        node.step(incoming(.preVoteRequest(request), from: 2, term: Term(testCase.requestTerm)))
        let replies = node.takeMessages()
        guard replies.count == 1, let reply = replies.first, let response = reply.preVoteResponse else {
            Issue.record("rule §9.6 broke for \(testCase): expected one pre-vote response, got \(replies.summary)")
            return
        }
        #expect(response.granted == testCase.granted, "rule §9.6 (who gets a pre-vote) broke for \(testCase): granted \(response.granted)")
        let expectedTerm = testCase.granted ? Term(testCase.requestTerm) : 3
        #expect(reply.term == expectedTerm, "rule §9.6 broke for \(testCase): answered in \(reply.term), expected \(expectedTerm)")
        #expect(ReplicaSummary(node) == before, "rule §9.6 (pre-vote changes nothing) broke for \(testCase): \(before) became \(ReplicaSummary(node))")
        #expect(node.electionElapsed == elapsed, "rule §9.6 broke for \(testCase): a pre-vote restarted the election timer")
    }

    // MARK: Quorum of pre-votes

    struct QuorumCase: CustomTestStringConvertible, Sendable {
        var voterCount: Int
        /// Answers in arrival order: (voter, granted, term); the pre-candidate is at t2.
        var answers: [(voter: UInt64, granted: Bool, term: UInt64)]
        var expectedRole: RaftRole
        var expectedTerm: UInt64

        var testDescription: String {
            let shown = answers.map { "n\($0.voter)\($0.granted ? "+" : "-")t\($0.term)" }.joined(separator: " ")
            return "\(voterCount) voters, answers [\(shown)]"
        }
    }

    @Test(arguments: [
        QuorumCase(voterCount: 3, answers: [], expectedRole: .preCandidate, expectedTerm: 2),
        QuorumCase(voterCount: 3, answers: [(2, true, 3)], expectedRole: .candidate, expectedTerm: 3),
        QuorumCase(voterCount: 3, answers: [(2, false, 2)], expectedRole: .preCandidate, expectedTerm: 2),
        QuorumCase(voterCount: 3, answers: [(2, false, 2), (3, false, 2)], expectedRole: .follower, expectedTerm: 2),
        QuorumCase(voterCount: 3, answers: [(2, false, 2), (3, true, 3)], expectedRole: .candidate, expectedTerm: 3),
        QuorumCase(voterCount: 5, answers: [(2, true, 3)], expectedRole: .preCandidate, expectedTerm: 2),
        QuorumCase(voterCount: 5, answers: [(2, true, 3), (2, true, 3)], expectedRole: .preCandidate, expectedTerm: 2),
        QuorumCase(voterCount: 5, answers: [(2, true, 3), (4, true, 3)], expectedRole: .candidate, expectedTerm: 3),
        QuorumCase(voterCount: 5, answers: [(2, false, 2), (3, false, 2), (4, false, 2)], expectedRole: .follower, expectedTerm: 2),
        // A refusal from a voter of a later term: the pre-candidate joins that term.
        QuorumCase(voterCount: 3, answers: [(2, false, 6)], expectedRole: .follower, expectedTerm: 6),
        QuorumCase(voterCount: 5, answers: [(2, true, 3), (3, false, 7)], expectedRole: .follower, expectedTerm: 7),
    ])
    func preCandidateBecomesCandidateOnlyOnAQuorumOfPreVotes(_ testCase: QuorumCase) {
        let node = makeReplica(role: .preCandidate, term: 2, logTerms: [1], voters: voterIDs(testCase.voterCount))
        for (voter, granted, term) in testCase.answers {
            node.step(incoming(.preVoteResponse(VoteResponse(granted: granted)), from: NodeID(voter), term: Term(term)))
        }
        #expect(
            node.role == testCase.expectedRole && node.term == Term(testCase.expectedTerm),
            "rule §9.6 (pre-vote quorum) broke for \(testCase): \(ReplicaSummary(node)), expected \(testCase.expectedRole) t\(testCase.expectedTerm)")
        let requests = node.takeMessages().filter { $0.voteRequest != nil }
        if testCase.expectedRole == .candidate {
            #expect(
                node.vote == 1 && requests.count == testCase.voterCount - 1,
                "rule §9.6 broke for \(testCase): the real election must vote for itself and ask every peer: sent \(requests.summary)")
        } else {
            #expect(requests.isEmpty, "rule §9.6 broke for \(testCase): vote requests without a pre-vote quorum: \(requests.summary)")
        }
    }
}
