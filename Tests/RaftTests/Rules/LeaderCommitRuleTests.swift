import Testing
@testable import ReplicaCore

/// Raft §5.3 and §5.4.2, the leader's commit rule (etcd's TestCommit): the
/// commit index is the highest index stored on a majority of voters, but only
/// if that entry is of the leader's term (Figure 8): an entry of an earlier
/// term is committed only indirectly, by committing a later one of this term.
@Suite(.recordsCoreInvariants) struct LeaderCommitRuleTests {
    struct CommitCase: CustomTestStringConvertible, Sendable {
        var name: String
        /// The log the leader was elected with; winning appends its no-op of `term`.
        var logTerms: [UInt64]
        var term: UInt64
        /// Proposals the leader appends after its no-op, all of its term.
        var proposals = 0
        /// Match index of every other voter, in voter order (voters 2, 3, ...).
        var followerMatches: [UInt64]
        var expectedCommit: UInt64

        var testDescription: String {
            "\(name): log \(logTerms) + no-op t\(term) + \(proposals) proposals, follower matches \(followerMatches)"
        }
    }

    static let cases: [CommitCase] = [
        // One voter: the leader alone is a majority.
        CommitCase(name: "single voter, empty log", logTerms: [], term: 1, followerMatches: [], expectedCommit: 1),
        CommitCase(name: "single voter, old entries", logTerms: [1, 1], term: 2, followerMatches: [], expectedCommit: 3),
        CommitCase(name: "single voter, proposals", logTerms: [1], term: 3, proposals: 2, followerMatches: [], expectedCommit: 4),
        // Three voters.
        CommitCase(name: "no follower holds the no-op", logTerms: [], term: 1, followerMatches: [0, 0], expectedCommit: 0),
        CommitCase(name: "one follower holds the no-op", logTerms: [], term: 1, followerMatches: [1, 0], expectedCommit: 1),
        CommitCase(name: "all hold the no-op", logTerms: [], term: 1, followerMatches: [1, 1], expectedCommit: 1),
        CommitCase(name: "majority on an old entry only", logTerms: [1, 1], term: 2, followerMatches: [2, 0], expectedCommit: 0),
        CommitCase(name: "every voter holds the old entries", logTerms: [1, 1], term: 2, followerMatches: [2, 2], expectedCommit: 0),
        CommitCase(name: "majority holds the no-op", logTerms: [1, 1], term: 2, followerMatches: [3, 0], expectedCommit: 3),
        CommitCase(name: "majority index is the smaller match", logTerms: [1, 1], term: 2, followerMatches: [3, 2], expectedCommit: 3),
        CommitCase(name: "Figure 8: term-2 entry on a majority", logTerms: [1, 2], term: 4, followerMatches: [2, 1], expectedCommit: 0),
        CommitCase(name: "Figure 8: then the leader's own entry", logTerms: [1, 2], term: 4, followerMatches: [3, 1], expectedCommit: 3),
        CommitCase(name: "majority on a proposal", logTerms: [1], term: 2, proposals: 3, followerMatches: [4, 0], expectedCommit: 4),
        CommitCase(name: "majority on all proposals", logTerms: [1], term: 2, proposals: 3, followerMatches: [2, 5], expectedCommit: 5),
        // Four voters: a majority is three, so two (half) commit nothing.
        CommitCase(name: "four: one follower holds the no-op", logTerms: [], term: 1, followerMatches: [1, 0, 0], expectedCommit: 0),
        CommitCase(name: "four: two followers hold the no-op", logTerms: [], term: 1, followerMatches: [1, 1, 0], expectedCommit: 1),
        // Five voters: a majority is three, the leader included.
        CommitCase(name: "five: one follower holds the no-op", logTerms: [], term: 1, followerMatches: [1, 0, 0, 0], expectedCommit: 0),
        CommitCase(name: "five: two followers hold the no-op", logTerms: [], term: 1, followerMatches: [1, 1, 0, 0], expectedCommit: 1),
        CommitCase(name: "five: everyone on old entries", logTerms: [1, 1], term: 2, followerMatches: [2, 2, 2, 2], expectedCommit: 0),
        CommitCase(name: "five: third-highest match is old", logTerms: [1, 1], term: 2, followerMatches: [3, 2, 2, 0], expectedCommit: 0),
        CommitCase(name: "five: third-highest match is new", logTerms: [1, 1], term: 2, followerMatches: [3, 3, 2, 2], expectedCommit: 3),
        CommitCase(
            name: "five: Figure 8 with mixed matches", logTerms: [1, 2, 3], term: 5, proposals: 1,
            followerMatches: [3, 3, 5, 2], expectedCommit: 0),
        CommitCase(
            name: "five: proposals on a majority", logTerms: [1, 2, 3], term: 5, proposals: 1,
            followerMatches: [5, 4, 0, 3], expectedCommit: 4),
    ]

    @Test(arguments: cases)
    func leaderCommitsTheMajorityIndexOnlyIfItIsOfItsTerm(_ testCase: CommitCase) throws {
        let voters = voterIDs(testCase.followerMatches.count + 1)
        let node = makeReplica(role: .leader, term: Term(testCase.term), logTerms: testCase.logTerms, voters: voters)
        for proposal in 0..<testCase.proposals {
            _ = try node.propose([UInt8(proposal)])
        }
        _ = node.takeMessages()
        for (offset, match) in testCase.followerMatches.enumerated() where match > 0 {
            let follower = NodeID(UInt64(offset + 2))
            node.step(incoming(.appendResponse(AppendResponse(index: LogIndex(match))), from: follower, term: Term(testCase.term)))
        }
        #expect(
            node.log.committed == LogIndex(testCase.expectedCommit),
            "rule §5.3/§5.4.2 (leader commit) broke for \(testCase): commit \(node.log.committed), expected \(testCase.expectedCommit)")
        _ = node.takeCommittedEntries()
        #expect(
            node.log.applied == LogIndex(testCase.expectedCommit),
            "rule §5.3 (committed entries are applied) broke for \(testCase): applied up to \(node.log.applied)")
    }

    /// Once committed, an index stays committed whatever answers arrive later.
    @Test(arguments: [
        [(2, 2), (3, 1)],
        [(2, 2), (2, 1), (3, 0)],
        [(3, 2), (2, 1), (3, 1)],
    ] as [[(UInt64, UInt64)]])
    func leaderCommitNeverGoesBack(answers: [(UInt64, UInt64)]) {
        let node = makeReplica(role: .leader, term: 2, logTerms: [1])
        _ = node.takeMessages()
        var highest: LogIndex = 0
        for (follower, index) in answers {
            node.step(incoming(.appendResponse(AppendResponse(index: LogIndex(index))), from: NodeID(follower), term: 2))
            #expect(node.log.committed >= highest, "rule §5.3 (commit never goes back) broke for answers \(answers): \(highest) became \(node.log.committed)")
            highest = max(highest, node.log.committed)
        }
        #expect(highest == 2, "rule §5.3 broke for answers \(answers): the no-op at 2 was never committed")
    }
}
