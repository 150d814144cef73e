import Testing
@testable import ReplicaCore

/// Heartbeats (etcd's TestHandleHeartbeat and sendHeartbeat): the leader tells
/// a follower to commit no further than what that follower is known to hold
/// (its match), the follower commits up to that and never lowers its commit
/// index, and every heartbeat is answered, echoing the read sequence.
@Suite(.recordsCoreInvariants) struct HeartbeatRuleTests {
    // MARK: Follower

    struct FollowerCase: CustomTestStringConvertible, Sendable {
        var name: String
        var followerLog: [UInt64] = [1, 1, 2]
        var followerCommit: UInt64
        var heartbeatCommit: UInt64
        var expectedCommit: UInt64

        var testDescription: String {
            "\(name): follower \(followerLog) commit \(followerCommit), heartbeat commit \(heartbeatCommit)"
        }
    }

    @Test(arguments: [
        FollowerCase(name: "advances", followerCommit: 1, heartbeatCommit: 2, expectedCommit: 2),
        FollowerCase(name: "advances to the last entry", followerCommit: 0, heartbeatCommit: 3, expectedCommit: 3),
        FollowerCase(name: "same commit", followerCommit: 2, heartbeatCommit: 2, expectedCommit: 2),
        FollowerCase(name: "never lowers", followerCommit: 3, heartbeatCommit: 1, expectedCommit: 3),
        FollowerCase(name: "zero never lowers", followerCommit: 2, heartbeatCommit: 0, expectedCommit: 2),
        FollowerCase(name: "empty log", followerLog: [], followerCommit: 0, heartbeatCommit: 0, expectedCommit: 0),
    ])
    func followerCommitsUpToTheHeartbeatCommitAndNeverLowersIt(_ testCase: FollowerCase) {
        let storage = storage(
            withTerms: testCase.followerLog, hardState: HardState(term: 2, commit: LogIndex(testCase.followerCommit)))
        let node = makeNode(1, storage: storage)
        // Some time without a leader, so that hearing from one visibly restarts the election timer.
        node.tick(times: 3)
        node.step(incoming(.heartbeat(Heartbeat(commit: LogIndex(testCase.heartbeatCommit), readSequence: 7)), from: 2, term: 2))
        #expect(
            node.log.committed == LogIndex(testCase.expectedCommit),
            "heartbeat commit rule broke for \(testCase): commit \(node.log.committed), expected \(testCase.expectedCommit)")
        #expect(node.leader == 2 && node.electionElapsed == 0, "rule §5.2 broke for \(testCase): the heartbeat did not count as hearing from n2")
        let replies = node.takeMessages()
        #expect(
            replies.count == 1 && replies.first?.heartbeatResponse?.readSequence == 7 && replies.first?.term == 2
                && replies.first?.to == 2,
            "heartbeat answer rule broke for \(testCase): replies \(replies.summary) must be one answer echoing read sequence 7")
    }

    /// The leader never sends a commit beyond a follower's match, so one beyond
    /// its log means the follower lost acknowledged entries: the core reports
    /// a broken invariant instead of committing entries it does not hold.
    @Test(arguments: [4, 10] as [UInt64])
    func heartbeatCommitBeyondTheLogIsABrokenInvariantNotACommit(heartbeatCommit: UInt64) {
        let node = makeNode(1, storage: storage(withTerms: [1, 1, 2], hardState: HardState(term: 2, commit: 1)))
        let recorder = CoreInvariant.Recorder()
        CoreInvariant.$recorder.withValue(recorder) {
            node.step(incoming(.heartbeat(Heartbeat(commit: LogIndex(heartbeatCommit))), from: 2, term: 2))
        }
        #expect(node.log.committed == 1, "heartbeat commit rule broke for commit \(heartbeatCommit): follower committed to \(node.log.committed) beyond its last index 3")
        #expect(!recorder.takeFailures().isEmpty, "heartbeat commit \(heartbeatCommit) beyond the log went unreported")
    }

    // MARK: Leader

    struct LeaderCase: CustomTestStringConvertible, Sendable {
        var name: String
        var voterCount: Int = 3
        /// Acknowledged indices by follower; the leader's log is [1, 1, 1] plus its no-op at 4.
        var acknowledged: [UInt64: UInt64]
        var expectedLeaderCommit: UInt64
        /// The commit each follower's heartbeat must carry.
        var expectedHeartbeatCommit: [UInt64: UInt64]

        var testDescription: String { "\(name): acknowledged \(acknowledged.sorted { $0.key < $1.key })" }
    }

    @Test(arguments: [
        LeaderCase(
            name: "lagging follower gets its match", acknowledged: [2: 2, 3: 4], expectedLeaderCommit: 4,
            expectedHeartbeatCommit: [2: 2, 3: 4]),
        LeaderCase(
            name: "unknown follower gets nothing", acknowledged: [3: 4], expectedLeaderCommit: 4,
            expectedHeartbeatCommit: [2: 0, 3: 4]),
        LeaderCase(
            name: "commit caps the match", voterCount: 5, acknowledged: [2: 4, 3: 1], expectedLeaderCommit: 0,
            expectedHeartbeatCommit: [2: 0, 3: 0, 4: 0, 5: 0]),
        LeaderCase(
            name: "five voters, mixed", voterCount: 5, acknowledged: [2: 4, 3: 4, 4: 3], expectedLeaderCommit: 4,
            expectedHeartbeatCommit: [2: 4, 3: 4, 4: 3, 5: 0]),
    ])
    func leaderCapsTheHeartbeatCommitAtTheFollowersMatch(_ testCase: LeaderCase) {
        let voters = voterIDs(testCase.voterCount)
        let node = makeReplica(role: .leader, term: 2, logTerms: [1, 1, 1], voters: voters)
        for (follower, index) in testCase.acknowledged.sorted(by: { $0.key < $1.key }) {
            node.step(incoming(.appendResponse(AppendResponse(index: LogIndex(index))), from: NodeID(follower), term: 2))
        }
        _ = node.takeMessages()
        #expect(node.log.committed == LogIndex(testCase.expectedLeaderCommit), "leader commit for \(testCase) is \(node.log.committed)")
        node.tick()
        var sent: [UInt64: UInt64] = [:]
        for message in node.takeMessages() {
            if let heartbeat = message.heartbeat { sent[message.to.rawValue] = heartbeat.commit.rawValue }
        }
        #expect(
            sent == testCase.expectedHeartbeatCommit,
            "heartbeat commit cap rule broke for \(testCase): heartbeats carried \(sent.sorted { $0.key < $1.key }), expected \(testCase.expectedHeartbeatCommit.sorted { $0.key < $1.key })")
    }
}
