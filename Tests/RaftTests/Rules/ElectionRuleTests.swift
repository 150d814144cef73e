import Testing
@testable import ReplicaCore

/// Raft §5.2: a follower that hears from no leader times out into an
/// election, votes for itself, asks every peer, wins with a majority, yields
/// to a leader of its term, and as leader first appends a no-op of its term.
@Suite(.recordsCoreInvariants) struct ElectionRuleTests {
    static let electionTick = 10

    // MARK: Election timeout

    struct TimeoutCase: CustomTestStringConvertible, Sendable {
        var role: RaftRole
        var preVote: Bool
        var seed: UInt64

        var testDescription: String { "\(role) with seed \(seed), preVote \(preVote)" }

        static let all: [TimeoutCase] = (1...12).flatMap { seed in
            [
                TimeoutCase(role: .follower, preVote: true, seed: seed),
                TimeoutCase(role: .follower, preVote: false, seed: seed),
                TimeoutCase(role: .candidate, preVote: false, seed: seed),
            ]
        }
    }

    @Test(arguments: TimeoutCase.all)
    func replicaWithoutLeaderTimesOutIntoAnElectionWithinTheRandomRange(_ testCase: TimeoutCase) {
        let node = makeReplica(role: testCase.role, term: 2, logTerms: [1, 2]) {
            $0.preVote = testCase.preVote
            $0.randomSeed = testCase.seed
        }
        let termBefore = node.term
        var ticks = 0
        while ticks < 3 * Self.electionTick && node.term == termBefore && node.role == testCase.role {
            node.tick()
            ticks += 1
        }
        let range = Self.electionTick..<(2 * Self.electionTick)
        #expect(range.contains(ticks), "rule §5.2 (randomized election timeout) broke for \(testCase): campaigned after \(ticks) ticks, expected within \(range)")
        let expectedRole: RaftRole = testCase.preVote ? .preCandidate : .candidate
        let expectedTerm = testCase.preVote ? termBefore : termBefore.next
        #expect(
            node.role == expectedRole && node.term == expectedTerm,
            "rule §5.2 broke for \(testCase): timed out into \(ReplicaSummary(node)), expected \(expectedRole) \(expectedTerm)")
    }

    @Test func electionTimeoutsCoverTheWholeRandomRange() {
        var seen = Set<Int>()
        for seed in 0..<300 {
            let node = makeReplica(role: .follower, term: 1) { $0.randomSeed = UInt64(seed) }
            seen.insert(node.randomizedElectionTimeout)
        }
        let range = Set(Self.electionTick..<(2 * Self.electionTick))
        #expect(seen == range, "rule §5.2 (randomized election timeout) broke: saw timeouts \(seen.sorted()), expected all of \(range.sorted())")
    }

    // MARK: Campaign

    struct CampaignCase: CustomTestStringConvertible, Sendable {
        var voterCount: Int
        var preVote: Bool

        var testDescription: String { "\(voterCount) voters, preVote \(preVote)" }
    }

    @Test(arguments: [
        CampaignCase(voterCount: 3, preVote: false), CampaignCase(voterCount: 5, preVote: false),
        CampaignCase(voterCount: 3, preVote: true), CampaignCase(voterCount: 5, preVote: true),
        CampaignCase(voterCount: 7, preVote: true),
    ])
    func candidateVotesForItselfAndAsksEveryPeer(_ testCase: CampaignCase) {
        let voters = voterIDs(testCase.voterCount)
        let node = makeReplica(role: .follower, term: 3, logTerms: [1, 1, 3], voters: voters) {
            $0.preVote = testCase.preVote
        }
        node.campaign()
        let requests = node.takeMessages()
        let asked = requests.map(\.to).sorted()
        #expect(asked == Array(voters.dropFirst()), "rule §5.2 (ask every peer) broke for \(testCase): asked \(asked)")
        for request in requests {
            let vote = testCase.preVote ? request.preVoteRequest : request.voteRequest
            #expect(
                vote?.lastLogIndex == 3 && vote?.lastLogTerm == 3 && request.term == 4,
                "rule §5.2 broke for \(testCase): \(request.summary) must be a \(testCase.preVote ? "pre-" : "")vote request at t4 describing the last entry i3 t3")
        }
        if testCase.preVote {
            #expect(node.role == .preCandidate && node.term == 3 && node.vote == nil, "rule §9.6 broke for \(testCase): \(ReplicaSummary(node))")
        } else {
            #expect(node.role == .candidate && node.term == 4 && node.vote == 1, "rule §5.2 (vote for itself) broke for \(testCase): \(ReplicaSummary(node))")
            #expect(node.memoryStorage.initialState().vote == 1, "rule §5.2 broke for \(testCase): the self-vote was not persisted")
        }
    }

    @Test(arguments: [false, true])
    func singleVoterWinsAtOnce(preVote: Bool) {
        let node = makeReplica(role: .follower, term: 1, voters: [1]) { $0.preVote = preVote }
        node.campaign()
        #expect(node.role == .leader && node.term == 2, "rule §5.2 broke for a single voter (preVote \(preVote)): \(ReplicaSummary(node))")
    }

    // MARK: Counting votes

    enum Outcome: String, Sendable {
        case won, lost, pending
    }

    struct TallyCase: CustomTestStringConvertible, Sendable {
        var voterCount: Int
        /// Answers in arrival order: (voter, granted).
        var answers: [(voter: UInt64, granted: Bool)]
        var outcome: Outcome

        var testDescription: String {
            let shown = answers.map { "n\($0.voter)\($0.granted ? "+" : "-")" }.joined(separator: " ")
            return "\(voterCount) voters, answers [\(shown)] → \(outcome)"
        }
    }

    static let tallies: [TallyCase] = [
        TallyCase(voterCount: 3, answers: [], outcome: .pending),
        TallyCase(voterCount: 3, answers: [(2, true)], outcome: .won),
        TallyCase(voterCount: 3, answers: [(2, false)], outcome: .pending),
        TallyCase(voterCount: 3, answers: [(2, false), (3, true)], outcome: .won),
        TallyCase(voterCount: 3, answers: [(2, false), (3, false)], outcome: .lost),
        TallyCase(voterCount: 3, answers: [(2, false), (2, true)], outcome: .pending),
        // An even cluster: half is not a majority, so two halves can never both win.
        TallyCase(voterCount: 4, answers: [(2, true)], outcome: .pending),
        TallyCase(voterCount: 4, answers: [(2, true), (3, true)], outcome: .won),
        TallyCase(voterCount: 4, answers: [(2, false), (3, false)], outcome: .lost),
        TallyCase(voterCount: 6, answers: [(2, true), (3, true)], outcome: .pending),
        TallyCase(voterCount: 6, answers: [(2, true), (3, true), (4, true)], outcome: .won),
        TallyCase(voterCount: 5, answers: [(2, true)], outcome: .pending),
        TallyCase(voterCount: 5, answers: [(2, true), (2, true)], outcome: .pending),
        TallyCase(voterCount: 5, answers: [(2, true), (3, true)], outcome: .won),
        TallyCase(voterCount: 5, answers: [(2, false), (3, false)], outcome: .pending),
        TallyCase(voterCount: 5, answers: [(2, false), (3, false), (4, false)], outcome: .lost),
        TallyCase(voterCount: 5, answers: [(2, true), (3, false), (4, false)], outcome: .pending),
        TallyCase(voterCount: 5, answers: [(2, true), (3, false), (4, false), (5, true)], outcome: .won),
        TallyCase(voterCount: 5, answers: [(2, false), (3, false), (4, true), (5, true)], outcome: .won),
        TallyCase(voterCount: 5, answers: [(2, false), (3, false), (3, true), (4, false)], outcome: .lost),
    ]

    @Test(arguments: tallies, [false, true])
    func candidateWinsOnlyWithAMajorityOfVotes(_ testCase: TallyCase, preVote: Bool) {
        let voters = voterIDs(testCase.voterCount)
        let role: RaftRole = preVote ? .preCandidate : .candidate
        let node = makeReplica(role: role, term: 4, logTerms: [1], voters: voters) { $0.preVote = preVote }
        for (voter, granted) in testCase.answers {
            let response = VoteResponse(granted: granted)
            // A pre-vote is granted in the term the pre-candidate would use and refused in the voter's.
            let kind: RaftMessage.Kind = preVote ? .preVoteResponse(response) : .voteResponse(response)
            let term: Term = preVote && granted ? 5 : 4
            node.step(incoming(kind, from: NodeID(voter), term: term))
        }
        let expected: (role: RaftRole, term: Term) =
            switch (testCase.outcome, preVote) {
            case (.won, false): (.leader, 4)
            case (.won, true): (.candidate, 5)
            case (.lost, _): (.follower, 4)
            case (.pending, _): (role, 4)
            }
        #expect(
            node.role == expected.role && node.term == expected.term,
            "rule §5.2 (majority wins) broke for \(testCase) (preVote \(preVote)): \(ReplicaSummary(node)), expected \(expected.role) \(expected.term)")
    }

    // MARK: Yielding to a leader

    struct YieldCase: CustomTestStringConvertible, Sendable {
        var role: RaftRole
        var message: MessageSample

        var testDescription: String { "\(role) gets \(message) from a leader of its term" }
    }

    @Test(arguments: [RaftRole.candidate, .preCandidate], [MessageSample.append, .heartbeat, .snapshotChunk])
    func candidateStepsDownForALeaderOfItsTerm(role: RaftRole, message: MessageSample) {
        let testCase = YieldCase(role: role, message: message)
        let node = makeReplica(role: role, term: 4, logTerms: [1])
        node.step(incoming(message.kind, from: 3, term: 4))
        #expect(
            node.role == .follower && node.term == 4 && node.leader == 3,
            "rule §5.2 (yield to the leader of the term) broke for \(testCase): \(ReplicaSummary(node))")
        if role == .candidate {
            #expect(node.vote == 1, "rule §5.2 broke for \(testCase): stepping down in the same term must keep the vote")
        }
        let replies = node.takeMessages()
        #expect(replies.count == 1 && replies.first?.to == 3, "rule §5.2 broke for \(testCase): the leader's message went unanswered: \(replies.summary)")
    }

    @Test(arguments: [MessageSample.voteRequest, .appendResponse, .heartbeatResponse])
    func candidateKeepsCampaigningOnOtherMessagesOfItsTerm(message: MessageSample) {
        let node = makeReplica(role: .candidate, term: 4, logTerms: [1])
        node.step(incoming(message.kind, from: 3, term: 4))
        #expect(node.role == .candidate && node.vote == 1, "rule §5.2 broke: a candidate gave up on \(message) of its term: \(ReplicaSummary(node))")
    }

    // MARK: The new leader's no-op

    struct NoOpCase: CustomTestStringConvertible, Sendable {
        var logTerms: [UInt64]
        var term: Term

        var testDescription: String { "log \(logTerms), leader of \(term)" }
    }

    @Test(arguments: [
        NoOpCase(logTerms: [], term: 1), NoOpCase(logTerms: [1, 1], term: 2),
        NoOpCase(logTerms: [1, 2, 2], term: 5), NoOpCase(logTerms: [3], term: 4),
    ])
    func newLeaderAppendsANoOpOfItsTerm(_ testCase: NoOpCase) throws {
        let storage = storage(withTerms: testCase.logTerms, hardState: HardState(term: Term(testCase.term.rawValue - 1)))
        let node = makeNode(1, storage: storage)
        node.becomeLeaderForTest()
        let noOpIndex = LogIndex(UInt64(testCase.logTerms.count + 1))
        #expect(
            node.logTerms == testCase.logTerms + [testCase.term.rawValue],
            "rule §5.2/§8 (no-op of the new term) broke for \(testCase): log terms \(node.logTerms)")
        let entry = try #require(node.log.entries(in: noOpIndex..<(noOpIndex + 1), maxBytes: .max)?.first)
        #expect(entry.isNoOp, "rule §8 broke for \(testCase): the leader's first entry carries data \(entry.data)")
        let appends = node.takeMessages().compactMap(\.appendRequest)
        #expect(
            appends.count == 2 && appends.allSatisfy { $0.entries.last == entry },
            "rule §8 broke for \(testCase): the no-op was not sent to every follower: \(appends)")
    }
}
