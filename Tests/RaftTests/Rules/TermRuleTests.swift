import Testing
@testable import ReplicaCore

/// Raft §5.1: terms act as a logical clock. A message of an older term is
/// ignored, a newer term turns any replica into a follower of that term, and a
/// replica's term never goes back.
@Suite(.recordsCoreInvariants) struct TermRuleTests {
    // MARK: Lower term

    struct LowerTermCase: CustomTestStringConvertible, Sendable {
        var role: RaftRole
        var message: MessageSample
        var checkQuorum = true
        var preVote = true

        var testDescription: String {
            "\(role) gets a stale \(message) (checkQuorum \(checkQuorum), preVote \(preVote))"
        }

        /// The only answer allowed: a stale leader is told the newer term (when
        /// CheckQuorum or PreVote could otherwise leave it leading forever), and
        /// a stale pre-candidate is refused.
        var expectedReply: String? {
            switch message {
            case .append, .heartbeat: checkQuorum || preVote ? "appendResponse" : nil
            case .preVoteRequest: "preVoteResponse"
            default: nil
            }
        }

        static let all: [LowerTermCase] = {
            var cases: [LowerTermCase] = []
            for role in [RaftRole.follower, .preCandidate, .candidate, .leader] {
                for message in MessageSample.allCases {
                    cases.append(LowerTermCase(role: role, message: message))
                }
            }
            for role in [RaftRole.follower, .candidate, .leader] {
                for message in [MessageSample.append, .heartbeat] {
                    cases.append(LowerTermCase(role: role, message: message, checkQuorum: false, preVote: false))
                }
            }
            return cases
        }()
    }

    @Test(arguments: LowerTermCase.all)
    func messageOfLowerTermIsIgnored(_ testCase: LowerTermCase) {
        let node = makeReplica(role: testCase.role, term: 5, logTerms: [1, 2]) {
            $0.checkQuorum = testCase.checkQuorum
            $0.preVote = testCase.preVote
        }
        let before = ReplicaSummary(node)
        node.step(incoming(testCase.message.kind, from: 2, term: 3))
        let after = ReplicaSummary(node)
        #expect(after == before, "rule §5.1 (stale message ignored) broke for \(testCase): \(before) became \(after)")
        let replies = node.takeMessages()
        let expected = testCase.expectedReply.map { [$0] } ?? []
        #expect(
            replies.map(\.kind.name) == expected,
            "rule §5.1 (stale message ignored) broke for \(testCase): replies \(replies.summary), expected \(expected)")
        for reply in replies {
            #expect(reply.to == 2 && reply.term == 5, "rule §5.1 broke for \(testCase): the reply \(reply.summary) must carry term t5 to n2")
            if let response = reply.preVoteResponse {
                #expect(!response.granted, "rule §5.1 broke for \(testCase): a stale pre-vote was granted")
            }
        }
    }

    // MARK: Stale leader

    struct StaleLeaderCase: CustomTestStringConvertible, Sendable {
        var sends: MessageSample
        var checkQuorum: Bool
        var preVote: Bool
        var learnsNewerTerm: Bool

        var testDescription: String {
            "stale leader sends \(sends) (checkQuorum \(checkQuorum), preVote \(preVote))"
        }
    }

    @Test(arguments: [
        StaleLeaderCase(sends: .heartbeat, checkQuorum: true, preVote: true, learnsNewerTerm: true),
        StaleLeaderCase(sends: .append, checkQuorum: true, preVote: true, learnsNewerTerm: true),
        StaleLeaderCase(sends: .heartbeat, checkQuorum: true, preVote: false, learnsNewerTerm: true),
        StaleLeaderCase(sends: .heartbeat, checkQuorum: false, preVote: true, learnsNewerTerm: true),
        StaleLeaderCase(sends: .append, checkQuorum: false, preVote: true, learnsNewerTerm: true),
        // Like etcd: without either option nobody tells it, but no quorum follows it either.
        StaleLeaderCase(sends: .heartbeat, checkQuorum: false, preVote: false, learnsNewerTerm: false),
    ])
    func staleLeaderLearnsTheNewerTermFromTheReply(_ testCase: StaleLeaderCase) throws {
        let configure: (inout RaftConfig) -> Void = {
            $0.checkQuorum = testCase.checkQuorum
            $0.preVote = testCase.preVote
        }
        let staleLeader = makeReplica(1, role: .leader, term: 3, configure: configure)
        let follower = makeReplica(2, role: .follower, term: 7, configure: configure)
        switch testCase.sends {
        case .heartbeat:
            staleLeader.tick()
        default:
            // n2's probe is outstanding; a heartbeat answer from it releases the next append.
            staleLeader.step(incoming(.heartbeatResponse(HeartbeatResponse()), from: 2, term: 3))
        }
        let sent = staleLeader.takeMessages().filter { $0.to == 2 }
        try #require(!sent.isEmpty, "the stale leader sent nothing to n2")
        for message in sent { follower.step(message) }
        for reply in follower.takeMessages() { staleLeader.step(reply) }
        let summary = ReplicaSummary(staleLeader)
        if testCase.learnsNewerTerm {
            #expect(
                staleLeader.role == .follower && staleLeader.term == 7 && staleLeader.leader == nil,
                "rule §5.1 (stale leader learns the newer term) broke for \(testCase): leader is now \(summary)")
        } else {
            #expect(staleLeader.role == .leader && staleLeader.term == 3, "unexpected change for \(testCase): \(summary)")
        }
        #expect(follower.term == 7, "rule §5.1 broke for \(testCase): the follower's term moved to \(follower.term)")
    }

    // MARK: Higher term

    struct HigherTermCase: CustomTestStringConvertible, Sendable {
        var role: RaftRole
        var message: MessageSample
        var granted = true

        var testDescription: String {
            "\(role) gets \(message)\(granted ? "" : " (refused)") of a higher term"
        }

        static let all: [HigherTermCase] = {
            var cases: [HigherTermCase] = []
            let messages: [MessageSample] = [
                .append, .heartbeat, .snapshotChunk, .voteRequest, .voteResponse, .appendResponse,
                .heartbeatResponse, .snapshotResponse,
            ]
            for role in [RaftRole.follower, .preCandidate, .candidate, .leader] {
                for message in messages {
                    cases.append(HigherTermCase(role: role, message: message))
                }
                // A refused pre-vote carries the voter's (higher) term: the pre-candidate catches up.
                cases.append(HigherTermCase(role: role, message: .preVoteResponse, granted: false))
            }
            return cases
        }()
    }

    @Test(arguments: HigherTermCase.all)
    func messageOfHigherTermMakesAnyRoleAFollowerOfThatTerm(_ testCase: HigherTermCase) {
        // Without CheckQuorum: the lease exception has its own table.
        let node = makeReplica(role: testCase.role, term: 5, logTerms: [1, 2]) { $0.checkQuorum = false }
        var kind = testCase.message.kind
        if !testCase.granted {
            kind = .preVoteResponse(VoteResponse(granted: false))
        }
        node.step(incoming(kind, from: 2, term: 9))
        let expectedLeader: NodeID? = testCase.message.isFromLeader ? 2 : nil
        let summary = ReplicaSummary(node)
        #expect(
            node.role == .follower && node.term == 9 && node.leader == expectedLeader,
            "rule §5.1 (higher term makes a follower) broke for \(testCase): got \(summary), expected follower t9 leader \(expectedLeader.map(\.description) ?? "-")")
        if testCase.message != .voteRequest {
            #expect(node.vote == nil, "rule §5.1 broke for \(testCase): the vote of the old term survived into t9")
        }
        // The new term is persisted before anything is sent.
        #expect(node.processReady().hardState?.term == 9, "rule §5.1 broke for \(testCase): new term not in the Ready's hard state")
    }

    struct HigherTermExceptionCase: CustomTestStringConvertible, Sendable {
        var role: RaftRole
        var message: MessageSample
        var why: String

        var testDescription: String { "\(role) keeps its term on \(message): \(why)" }
    }

    @Test(arguments: [
        HigherTermExceptionCase(role: .follower, message: .preVoteRequest, why: "a pre-vote never changes the voter's term"),
        HigherTermExceptionCase(role: .candidate, message: .preVoteRequest, why: "a pre-vote never changes the voter's term"),
        HigherTermExceptionCase(role: .preCandidate, message: .preVoteResponse, why: "a granted pre-vote carries the next term"),
        HigherTermExceptionCase(role: .follower, message: .preVoteResponse, why: "a granted pre-vote carries the next term"),
    ])
    func preVoteMessagesOfHigherTermLeaveTheTermAlone(_ testCase: HigherTermExceptionCase) {
        // Five voters, so that one granted pre-vote does not win the pre-election.
        let node = makeReplica(role: testCase.role, term: 5, logTerms: [1, 2], voters: [1, 2, 3, 4, 5]) {
            $0.checkQuorum = false
        }
        let before = ReplicaSummary(node)
        // A granted pre-vote response normally carries term + 1; use a further term to be sure it is not adopted.
        node.step(incoming(testCase.message.kind, from: 2, term: 9))
        #expect(node.term == 5, "rule §9.6 (pre-vote keeps the term) broke for \(testCase): \(before) became \(ReplicaSummary(node))")
        #expect(node.vote == before.vote, "rule §9.6 broke for \(testCase): the vote changed to \(node.vote.map(\.description) ?? "-")")
    }

    // MARK: Term never goes back

    struct TermSequenceCase: CustomTestStringConvertible, Sendable {
        var name: String
        var messages: [(sample: MessageSample, term: UInt64)]
        var expectedTerms: [UInt64]

        var testDescription: String { name }
    }

    @Test(arguments: [
        TermSequenceCase(
            name: "leader traffic of rising and falling terms",
            messages: [(.heartbeat, 3), (.append, 2), (.heartbeat, 6), (.append, 4), (.heartbeatResponse, 1)],
            expectedTerms: [3, 3, 6, 6, 6]),
        TermSequenceCase(
            name: "votes and pre-votes of many terms",
            messages: [(.voteRequest, 4), (.preVoteRequest, 9), (.voteRequest, 2), (.voteResponse, 8), (.preVoteResponse, 12)],
            expectedTerms: [4, 4, 4, 8, 8]),
        TermSequenceCase(
            name: "responses only",
            messages: [(.appendResponse, 2), (.snapshotResponse, 1), (.heartbeatResponse, 5), (.appendResponse, 4)],
            expectedTerms: [2, 2, 5, 5]),
    ])
    func termNeverGoesBack(_ testCase: TermSequenceCase) {
        let node = makeReplica(role: .follower, term: 1) { $0.checkQuorum = false }
        var observed: [UInt64] = []
        for (sample, term) in testCase.messages {
            let previous = node.term
            node.step(incoming(sample.kind, from: 2, term: Term(term)))
            #expect(node.term >= previous, "rule §5.1 (term never goes back) broke for \(testCase): \(previous) became \(node.term) on \(sample)")
            observed.append(node.term.rawValue)
            _ = node.takeMessages()
        }
        #expect(observed == testCase.expectedTerms, "rule §5.1 broke for \(testCase): terms \(observed), expected \(testCase.expectedTerms)")
    }
}
