import Testing
@testable import ReplicaCore

/// Raft §5.3, AppendEntries at the follower (etcd's TestHandleMsgApp): accept
/// only when the previous entry matches, cut a conflicting suffix but never
/// entries the leader's message merely repeats, commit up to the smaller of
/// the leader's commit and the last entry the message vouches for, and on a
/// mismatch answer with a hint that lets the leader skip a whole term.
@Suite(.recordsCoreInvariants) struct FollowerAppendRuleTests {
    struct AppendCase: CustomTestStringConvertible, Sendable {
        var name: String
        /// The follower's log as terms; it is at term 5.
        var followerLog: [UInt64] = [1, 2]
        var followerCommit: UInt64 = 0
        var previous: (index: UInt64, term: UInt64)
        /// Terms of the entries carried, which start at `previous.index + 1`.
        var entryTerms: [UInt64] = []
        var leaderCommit: UInt64
        /// The follower's log afterwards.
        var expectedLog: [UInt64]
        var expectedCommit: UInt64
        /// On success, the index acknowledged; on rejection, `previous.index`.
        var expectedIndex: UInt64
        /// Present when the append must be rejected: the hint (index, term).
        var expectedHint: (index: UInt64, term: UInt64)?

        var testDescription: String {
            "\(name): follower \(followerLog) commit \(followerCommit), append after (i\(previous.index), t\(previous.term)) "
                + "of \(entryTerms) commit \(leaderCommit)"
        }
    }

    static let cases: [AppendCase] = [
        // The previous entry must match.
        AppendCase(
            name: "previous term differs", previous: (2, 3), leaderCommit: 3,
            expectedLog: [1, 2], expectedCommit: 0, expectedIndex: 2, expectedHint: (2, 2)),
        AppendCase(
            name: "previous index beyond the log", previous: (3, 3), leaderCommit: 3,
            expectedLog: [1, 2], expectedCommit: 0, expectedIndex: 3, expectedHint: (2, 2)),
        AppendCase(
            name: "previous term differs, with entries", previous: (2, 1), entryTerms: [5], leaderCommit: 3,
            expectedLog: [1, 2], expectedCommit: 0, expectedIndex: 2, expectedHint: (1, 1)),
        // Matching: append, keep what is repeated, cut what conflicts.
        AppendCase(
            name: "empty append matching the first entry", previous: (1, 1), leaderCommit: 1,
            expectedLog: [1, 2], expectedCommit: 1, expectedIndex: 1),
        AppendCase(
            name: "conflict at the first entry", previous: (0, 0), entryTerms: [2], leaderCommit: 1,
            expectedLog: [2], expectedCommit: 1, expectedIndex: 1),
        AppendCase(
            name: "new entries at the end", previous: (2, 2), entryTerms: [2, 2], leaderCommit: 3,
            expectedLog: [1, 2, 2, 2], expectedCommit: 3, expectedIndex: 4),
        AppendCase(
            name: "one new entry, leader commit beyond it", previous: (2, 2), entryTerms: [2], leaderCommit: 4,
            expectedLog: [1, 2, 2], expectedCommit: 3, expectedIndex: 3),
        AppendCase(
            name: "repeats the last entry", previous: (1, 1), entryTerms: [2], leaderCommit: 4,
            expectedLog: [1, 2], expectedCommit: 2, expectedIndex: 2),
        AppendCase(
            name: "conflicting suffix is cut", followerLog: [1, 1, 1, 1], previous: (2, 1), entryTerms: [3], leaderCommit: 0,
            expectedLog: [1, 1, 3], expectedCommit: 0, expectedIndex: 3),
        AppendCase(
            name: "conflict in the middle of the message", followerLog: [1, 1, 2, 2], previous: (1, 1),
            entryTerms: [1, 2, 4], leaderCommit: 2,
            expectedLog: [1, 1, 2, 4], expectedCommit: 2, expectedIndex: 4),
        AppendCase(
            name: "delayed shorter append does not truncate", followerLog: [1, 1, 1], previous: (0, 0), entryTerms: [1],
            leaderCommit: 0, expectedLog: [1, 1, 1], expectedCommit: 0, expectedIndex: 1),
        // Commit: min(leader commit, last new entry), never lowered.
        AppendCase(
            name: "commit only up to the last entry vouched for", previous: (1, 1), leaderCommit: 3,
            expectedLog: [1, 2], expectedCommit: 1, expectedIndex: 1),
        AppendCase(
            name: "commit up to a repeated entry", previous: (1, 1), entryTerms: [2], leaderCommit: 3,
            expectedLog: [1, 2], expectedCommit: 2, expectedIndex: 2),
        AppendCase(
            name: "commit limited by the leader", followerLog: [1, 1, 1], previous: (3, 1), leaderCommit: 2,
            expectedLog: [1, 1, 1], expectedCommit: 2, expectedIndex: 3),
        AppendCase(
            name: "lower leader commit does not lower ours", followerLog: [1, 1, 1], followerCommit: 2, previous: (2, 1),
            entryTerms: [1], leaderCommit: 1, expectedLog: [1, 1, 1], expectedCommit: 2, expectedIndex: 3),
        // Below the commit index everything matches: answer with the commit index.
        AppendCase(
            name: "previous entry below the commit index", followerLog: [1, 1, 1], followerCommit: 3, previous: (1, 1),
            entryTerms: [4], leaderCommit: 3, expectedLog: [1, 1, 1], expectedCommit: 3, expectedIndex: 3),
        // Rejection hints: the last index at or below the probe whose term is at most the leader's.
        AppendCase(
            name: "hint skips a later term", followerLog: [1, 1, 2, 2, 3, 3], previous: (6, 2), leaderCommit: 0,
            expectedLog: [1, 1, 2, 2, 3, 3], expectedCommit: 0, expectedIndex: 6, expectedHint: (4, 2)),
        AppendCase(
            name: "hint at the probe when its term is older", followerLog: [1, 1, 2, 2, 3, 3], previous: (6, 4),
            leaderCommit: 0, expectedLog: [1, 1, 2, 2, 3, 3], expectedCommit: 0, expectedIndex: 6, expectedHint: (6, 3)),
        AppendCase(
            name: "hint from the end of a shorter log", followerLog: [1, 1, 2, 2, 3, 3], previous: (9, 3),
            leaderCommit: 0, expectedLog: [1, 1, 2, 2, 3, 3], expectedCommit: 0, expectedIndex: 9, expectedHint: (6, 3)),
        AppendCase(
            name: "hint skips two terms", followerLog: [1, 1, 2, 2, 3, 3], previous: (5, 1), leaderCommit: 0,
            expectedLog: [1, 1, 2, 2, 3, 3], expectedCommit: 0, expectedIndex: 5, expectedHint: (2, 1)),
        AppendCase(
            name: "hint down to the empty prefix", followerLog: [2, 2], previous: (2, 1), leaderCommit: 0,
            expectedLog: [2, 2], expectedCommit: 0, expectedIndex: 2, expectedHint: (0, 0)),
    ]

    @Test(arguments: cases)
    func followerAppendsOnlyAfterAMatchingEntry(_ testCase: AppendCase) {
        let storage = storage(
            withTerms: testCase.followerLog, hardState: HardState(term: 5, commit: LogIndex(testCase.followerCommit)))
        let node = makeNode(1, storage: storage)
        let firstNew = testCase.previous.index + 1
        let carried = testCase.entryTerms.enumerated().map { offset, term in
            Entry(term: Term(term), index: LogIndex(firstNew + UInt64(offset)), data: [UInt8(offset)])
        }
        let request = AppendRequest(
            previousLogIndex: LogIndex(testCase.previous.index), previousLogTerm: Term(testCase.previous.term),
            entries: carried, commit: LogIndex(testCase.leaderCommit))
        // Some time without a leader, so that hearing from one visibly restarts the election timer.
        node.tick(times: 3)
        node.step(incoming(.append(request), from: 2, term: 5))

        #expect(node.logTerms == testCase.expectedLog, "rule §5.3 (log after append) broke for \(testCase): log \(node.logTerms)")
        #expect(
            node.log.committed == LogIndex(testCase.expectedCommit),
            "rule §5.3 (commit = min(leader commit, last new entry)) broke for \(testCase): commit \(node.log.committed)")
        #expect(node.leader == 2 && node.electionElapsed == 0, "rule §5.2 broke for \(testCase): the append did not count as hearing from leader n2")
        let replies = node.takeMessages()
        guard replies.count == 1, let reply = replies.first, let response = reply.appendResponse else {
            Issue.record("rule §5.3 broke for \(testCase): expected one append response, got \(replies.summary)")
            return
        }
        #expect(reply.to == 2 && reply.term == 5, "rule §5.3 broke for \(testCase): answered with \(reply.summary)")
        #expect(response.index == LogIndex(testCase.expectedIndex), "rule §5.3 (acknowledged index) broke for \(testCase): answered \(response.index)")
        let hint = response.rejection.map { ($0.hintIndex.rawValue, $0.hintTerm.rawValue) }
        switch (hint, testCase.expectedHint) {
        case (nil, nil):
            break
        case (let hint?, let expected?):
            #expect(hint == expected, "rule §5.3 (rejection hint) broke for \(testCase): hint \(hint), expected \(expected)")
        default:
            Issue.record("rule §5.3 (accept or reject) broke for \(testCase): rejection \(String(describing: hint)), expected \(String(describing: testCase.expectedHint))")
        }
    }
}
