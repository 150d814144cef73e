import Testing
@testable import ReplicaCore

/// Raft thesis §6.4, ReadIndex: the leader answers a read with its commit
/// index only once it has committed an entry of its term and a quorum has
/// confirmed, after the read arrived, that it still leads. Followers forward
/// reads and surface the answer; a replica that knows no leader holds the read for the next; a
/// leader that steps down forgets the reads it had not answered. A replica asks
/// its own unanswered reads again of every new leader, and of the same leader
/// after an election timeout, until they are answered or abandoned.
@Suite(.recordsCoreInvariants) struct ReadIndexRuleTests {
    /// A leader of term 2 over `voterCount` voters whose no-op (index 2) is committed.
    private func makeCommittedLeader(voterCount: Int) -> RaftNode {
        let node = makeReplica(role: .leader, term: 2, logTerms: [1], voters: voterIDs(voterCount))
        for follower in voterIDs(voterCount).dropFirst() {
            node.step(incoming(.appendResponse(AppendResponse(index: 2)), from: follower, term: 2))
        }
        if node.log.committed != 2 {
            Issue.record("fixture leader did not commit its no-op: commit \(node.log.committed)")
        }
        _ = node.takeMessages()
        return node
    }

    /// The read sequences the heartbeats in `messages` carry.
    private func readSequences(in messages: [RaftMessage]) -> Set<UInt64> {
        Set(messages.compactMap { $0.heartbeat?.readSequence })
    }

    // MARK: First commit of the term

    struct FirstCommitCase: CustomTestStringConvertible, Sendable {
        var name: String
        var logTerms: [UInt64]
        /// Followers that acknowledged the no-op (index `logTerms.count + 1`) before the read.
        var acknowledgedBefore: [UInt64]
        var defers: Bool

        var testDescription: String { name }
    }

    @Test(arguments: [
        FirstCommitCase(name: "no-op not yet committed, empty log", logTerms: [], acknowledgedBefore: [], defers: true),
        FirstCommitCase(name: "only old-term entries on a quorum", logTerms: [1, 1], acknowledgedBefore: [], defers: true),
        FirstCommitCase(name: "no-op committed", logTerms: [1, 1], acknowledgedBefore: [2], defers: false),
        FirstCommitCase(name: "no-op on every follower", logTerms: [], acknowledgedBefore: [2, 3], defers: false),
    ])
    func leaderDefersReadsUntilItCommitsAnEntryOfItsTerm(_ testCase: FirstCommitCase) throws {
        let node = makeReplica(role: .leader, term: 3, logTerms: testCase.logTerms)
        let noOp = LogIndex(UInt64(testCase.logTerms.count + 1))
        if testCase.logTerms.count > 0 {
            // Followers hold every old entry: a quorum on an old term does not count (§5.4.2).
            node.step(incoming(.appendResponse(AppendResponse(index: noOp - 1)), from: 3, term: 3))
        }
        for follower in testCase.acknowledgedBefore {
            node.step(incoming(.appendResponse(AppendResponse(index: noOp)), from: NodeID(follower), term: 3))
        }
        _ = node.takeMessages()
        try node.readIndex(context: 7)
        let confirmations = readSequences(in: node.takeMessages())
        #expect(
            confirmations.isEmpty == testCase.defers,
            "rule §6.4 (wait for a commit of the term) broke for \(testCase): confirmation heartbeats carried \(confirmations.sorted())")
        guard testCase.defers else { return }
        // Committing the no-op releases the read into the confirmation round.
        node.step(incoming(.appendResponse(AppendResponse(index: noOp)), from: 2, term: 3))
        let released = readSequences(in: node.takeMessages())
        #expect(released.count == 1, "rule §6.4 broke for \(testCase): the deferred read was not released once the no-op committed")
        for sequence in released {
            node.step(incoming(.heartbeatResponse(HeartbeatResponse(readSequence: sequence)), from: 2, term: 3))
        }
        let answers = node.takeReadStates()
        #expect(answers == [ReadState(context: 7, index: noOp)], "rule §6.4 broke for \(testCase): answers \(answers)")
    }

    // MARK: Confirmation by a quorum

    enum Echo: String, Sendable {
        /// Echoes this read's sequence.
        case current
        /// Echoes the sequence of an earlier, already answered read.
        case stale
        /// A heartbeat answer that echoes no read.
        case none
    }

    struct QuorumCase: CustomTestStringConvertible, Sendable {
        var voterCount: Int
        var acknowledgements: [(voter: UInt64, echo: Echo)]
        var answered: Bool

        var testDescription: String {
            let shown = acknowledgements.map { "n\($0.voter):\($0.echo)" }.joined(separator: " ")
            return "\(voterCount) voters, acks [\(shown)] → \(answered ? "answered" : "waiting")"
        }
    }

    static let quorumCases: [QuorumCase] = [
        QuorumCase(voterCount: 3, acknowledgements: [], answered: false),
        QuorumCase(voterCount: 3, acknowledgements: [(2, .current)], answered: true),
        QuorumCase(voterCount: 3, acknowledgements: [(2, .none)], answered: false),
        QuorumCase(voterCount: 3, acknowledgements: [(2, .stale), (3, .stale)], answered: false),
        QuorumCase(voterCount: 3, acknowledgements: [(2, .none), (3, .stale), (3, .current)], answered: true),
        QuorumCase(voterCount: 5, acknowledgements: [(2, .current)], answered: false),
        QuorumCase(voterCount: 5, acknowledgements: [(2, .current), (2, .current)], answered: false),
        QuorumCase(voterCount: 5, acknowledgements: [(2, .current), (3, .stale), (4, .none)], answered: false),
        QuorumCase(voterCount: 5, acknowledgements: [(2, .current), (5, .current)], answered: true),
        QuorumCase(voterCount: 5, acknowledgements: [(2, .stale), (3, .stale), (4, .stale), (5, .current)], answered: false),
    ]

    @Test(arguments: quorumCases)
    func leaderAnswersAReadOnlyAfterAQuorumEchoesItsSequence(_ testCase: QuorumCase) throws {
        let node = makeCommittedLeader(voterCount: testCase.voterCount)
        // An earlier read, answered by every follower: its sequence is the stale one.
        try node.readIndex(context: 100)
        let staleSequence = try #require(readSequences(in: node.takeMessages()).first)
        for follower in voterIDs(testCase.voterCount).dropFirst() {
            node.step(incoming(.heartbeatResponse(HeartbeatResponse(readSequence: staleSequence)), from: follower, term: 2))
        }
        _ = node.takeReadStates()

        try node.readIndex(context: 7)
        let sequences = readSequences(in: node.takeMessages())
        try #require(sequences.count == 1, "expected one confirmation round, got sequences \(sequences)")
        let current = sequences.first!
        #expect(current != staleSequence, "rule §6.4 broke: a new read reused the sequence \(current)")
        for (voter, echo) in testCase.acknowledgements {
            let echoed: UInt64? =
                switch echo {
                case .current: current
                case .stale: staleSequence
                case .none: nil
                }
            node.step(incoming(.heartbeatResponse(HeartbeatResponse(readSequence: echoed)), from: NodeID(voter), term: 2))
        }
        let answers = node.takeReadStates()
        let expected = testCase.answered ? [ReadState(context: 7, index: 2)] : []
        #expect(answers == expected, "rule §6.4 (quorum confirms the read) broke for \(testCase): answers \(answers)")
    }

    @Test(arguments: [
        // (voter count, index of the read whose sequence the quorum echoes, reads answered)
        (3, 0, [10]), (3, 1, [10, 11]), (3, 2, [10, 11, 12]), (5, 1, [10, 11]),
    ] as [(Int, Int, [UInt64])])
    func confirmingAReadConfirmsEveryEarlierOne(voterCount: Int, echoedRead: Int, answered: [UInt64]) throws {
        let node = makeCommittedLeader(voterCount: voterCount)
        var sequences: [UInt64] = []
        for context: UInt64 in [10, 11, 12] {
            try node.readIndex(context: context)
            sequences += readSequences(in: node.takeMessages())
        }
        try #require(sequences.count == 3, "expected one confirmation round per read, got \(sequences)")
        for follower in voterIDs(voterCount).dropFirst() {
            node.step(incoming(.heartbeatResponse(HeartbeatResponse(readSequence: sequences[echoedRead])), from: follower, term: 2))
        }
        let contexts = node.takeReadStates().map(\.context)
        #expect(contexts == answered, "rule §6.4 broke: echoing read \(echoedRead) answered \(contexts), expected \(answered) in order")
    }

    @Test(arguments: [0, 2, 5] as [Int])
    func singleVoterAnswersAtOnce(proposals: Int) throws {
        let node = makeReplica(role: .leader, term: 1, voters: [1])
        for proposal in 0..<proposals { _ = try node.propose([UInt8(proposal)]) }
        _ = node.takeMessages()
        try node.readIndex(context: 4)
        let answers = node.takeReadStates()
        let expected = [ReadState(context: 4, index: LogIndex(UInt64(1 + proposals)))]
        #expect(answers == expected, "rule §6.4 (single voter reads at once) broke after \(proposals) proposals: \(answers)")
    }

    // MARK: Followers and replicas without a leader

    struct ForwardCase: CustomTestStringConvertible, Sendable {
        var role: RaftRole
        var knowsLeader: Bool
        var testDescription: String { "\(role), leader known \(knowsLeader)" }
    }

    @Test(arguments: [
        ForwardCase(role: .follower, knowsLeader: true), ForwardCase(role: .follower, knowsLeader: false),
        ForwardCase(role: .preCandidate, knowsLeader: false), ForwardCase(role: .candidate, knowsLeader: false),
    ])
    func followerForwardsReadsAndReplicaWithoutLeaderHoldsThem(_ testCase: ForwardCase) throws {
        let node = makeReplica(role: testCase.role, term: 2, logTerms: [1])
        if testCase.knowsLeader {
            node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 3, term: 2))
            _ = node.takeMessages()
        }
        guard testCase.knowsLeader else {
            try node.readIndex(context: 5)
            #expect(node.takeMessages().isEmpty, "rule §6.4 broke for \(testCase): a read with no leader to ask sent something")
            node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 3, term: 3))
            #expect(
                readsAsked(in: node.takeMessages()) == ["5→n3"],
                "the read held without a leader was not asked of the first leader learned, for \(testCase)")
            return
        }
        try node.readIndex(context: 5)
        let forwarded = node.takeMessages()
        #expect(
            forwarded.count == 1 && forwarded.first?.to == 3 && forwarded.first?.kind == .readIndex(ReadIndexRequest(context: 5)),
            "rule §6.4 (follower forwards) broke for \(testCase): sent \(forwarded.summary)")
        node.step(incoming(.readIndexResponse(ReadIndexResponse(context: 5, index: 9)), from: 3, term: 2))
        let answers = node.takeReadStates()
        #expect(answers == [ReadState(context: 5, index: 9)], "rule §6.4 (follower surfaces the answer) broke for \(testCase): \(answers)")
    }

    @Test func leaderAnswersAForwardedReadToTheFollowerThatAsked() throws {
        let node = makeCommittedLeader(voterCount: 3)
        node.step(incoming(.readIndex(ReadIndexRequest(context: 5)), from: 3, term: 0))
        let sequence = try #require(readSequences(in: node.takeMessages()).first)
        node.step(incoming(.heartbeatResponse(HeartbeatResponse(readSequence: sequence)), from: 2, term: 2))
        let sent = node.takeMessages().filter { $0.readIndexResponse != nil }
        #expect(
            sent.count == 1 && sent.first?.to == 3 && sent.first?.readIndexResponse == ReadIndexResponse(context: 5, index: 2),
            "rule §6.4 broke: the forwarded read was answered with \(sent.summary)")
        #expect(node.takeReadStates().isEmpty, "rule §6.4 broke: the leader surfaced a read that n3 asked for")
    }

    // MARK: Stepping down

    enum StepDownCause: String, CaseIterable, Sendable {
        case higherTermHeartbeat, higherTermAppendResponse, checkQuorumTimeout
    }

    @Test(arguments: StepDownCause.allCases, [false, true])
    func leaderThatStepsDownDropsItsPendingReads(cause: StepDownCause, deferred: Bool) throws {
        let node = deferred ? makeReplica(role: .leader, term: 2, logTerms: [1]) : makeCommittedLeader(voterCount: 3)
        try node.readIndex(context: 8)
        let sequences = readSequences(in: node.takeMessages())
        #expect(sequences.isEmpty == deferred, "fixture: the read was \(deferred ? "not deferred" : "deferred")")
        switch cause {
        case .higherTermHeartbeat:
            node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 2, term: 3))
        case .higherTermAppendResponse:
            node.step(incoming(.appendResponse(AppendResponse(index: 0)), from: 2, term: 3))
        case .checkQuorumTimeout:
            // At most two checks: the followers that acknowledged the no-op count as heard from in the first.
            for _ in 0..<20 where node.role == .leader { node.tick() }
        }
        #expect(node.role == .follower, "fixture: \(cause) did not depose the leader")
        #expect(
            node.pendingReads.count == 0 && node.readsAwaitingFirstCommit.isEmpty,
            "rule §6.4 (deposed leader drops reads) broke for \(cause), deferred \(deferred)")
        // Late confirmations change nothing.
        for sequence in sequences {
            for follower: NodeID in [2, 3] {
                node.step(incoming(.heartbeatResponse(HeartbeatResponse(readSequence: sequence)), from: follower, term: node.term))
            }
        }
        let answers = node.takeReadStates()
        #expect(answers.isEmpty, "rule §6.4 broke for \(cause), deferred \(deferred): a deposed leader answered \(answers)")
    }

    // MARK: Asking again

    /// A follower of n2 in term 2 that asked n2 for read 5.
    private func followerWithAForwardedRead() throws -> RaftNode {
        let node = makeReplica(role: .follower, term: 2)
        node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 2, term: 2))
        _ = node.takeMessages()
        try node.readIndex(context: 5)
        let asked = node.takeMessages().compactMap { $0.readIndexRequest == nil ? nil : $0.to }
        if asked != [2] { Issue.record("fixture: read 5 was asked of \(asked), not [n2]") }
        return node
    }

    /// Whom `messages` ask for a read index, and for which contexts.
    private func readsAsked(in messages: [RaftMessage]) -> [String] {
        messages.compactMap { message in message.readIndexRequest.map { "\($0.context)→\(message.to)" } }
    }

    @Test func aFollowerAsksANewLeaderForTheReadsItsOldLeaderDidNotAnswer() throws {
        let node = try followerWithAForwardedRead()
        node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 3, term: 3))
        #expect(readsAsked(in: node.takeMessages()) == ["5→n3"], "the read lost with n2 was not asked of the new leader n3")
    }

    @Test func aFollowerDoesNotAskAgainForAnAnsweredRead() throws {
        let node = try followerWithAForwardedRead()
        node.step(incoming(.readIndexResponse(ReadIndexResponse(context: 5, index: 1)), from: 2, term: 2))
        node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 3, term: 3))
        #expect(readsAsked(in: node.takeMessages()).isEmpty, "an answered read was asked again")
    }

    @Test func aFollowerDoesNotAskAgainForAnAbandonedRead() throws {
        let node = try followerWithAForwardedRead()
        node.abandonRead(context: 5)
        node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 3, term: 3))
        #expect(readsAsked(in: node.takeMessages()).isEmpty, "an abandoned read was asked again")
    }

    @Test func aFollowerAsksTheSameLeaderAgainAfterAnElectionTimeoutWithoutAnAnswer() throws {
        let node = try followerWithAForwardedRead()
        var askedAt: [Int] = []
        for tick in 1...(2 * node.config.electionTick) {
            // The leader keeps in touch, so only the unanswered read can cause a request.
            node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 2, term: 2))
            node.tick()
            if !readsAsked(in: node.takeMessages()).isEmpty { askedAt.append(tick) }
        }
        #expect(
            askedAt == [node.config.electionTick, 2 * node.config.electionTick],
            "the unanswered read was asked again at ticks \(askedAt), not once per election timeout")
    }

    @Test func aBusyFollowerAsksAgainOnlyTheReadsThatWaitedAnElectionTimeout() throws {
        let node = try followerWithAForwardedRead()
        let timeout = node.config.electionTick
        var asked: [String] = []
        for tick in 1...(2 * timeout) {
            node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 2, term: 2))
            node.tick()
            asked += readsAsked(in: node.takeMessages()).map { "\($0)@\(tick)" }
            if tick == timeout / 2 {
                try node.readIndex(context: 6)
                _ = node.takeMessages()
            }
        }
        #expect(
            asked == ["5→n2@\(timeout)", "6→n2@\(timeout / 2 + timeout)", "5→n2@\(2 * timeout)"],
            "each read is asked again one election timeout after it was last asked: \(asked)")
    }

    @Test func aReplicaCutOffFromEveryLeaderForThreeElectionTimeoutsRefusesReadsAtOnce() throws {
        let node = makeReplica(role: .follower, term: 2, logTerms: [1])
        node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 3, term: 2))
        node.tick(times: RaftNode.electionsAReadWaitsFor * node.config.electionTick)
        #expect(node.leader == nil, "fixture: the replica still follows \(String(describing: node.leader))")
        #expect(throws: RaftRequestError.notLeader(leaderHint: nil), "a read was held though no election is under way") {
            try node.readIndex(context: 5)
        }
    }

    /// Found by a random membership schedule: a replica left as the sole voter answers the
    /// reads it held at once, while it is still going through them.
    @Test func aSoleVoterElectedWithHeldReadsAnswersThemAll() throws {
        let node = makeReplica(role: .follower, term: 2, logTerms: [1], voters: [1])
        try node.readIndex(context: 5)
        try node.readIndex(context: 6)
        node.campaign()
        #expect(node.role == .leader, "fixture: the sole voter did not win its election")
        let answered = node.takeReadStates().map(\.context)
        #expect(answered.sorted() == [5, 6], "the held reads were answered \(answered)")
    }

    @Test func aDeposedLeaderAsksTheNewLeaderForItsOwnPendingRead() throws {
        let node = makeCommittedLeader(voterCount: 3)
        try node.readIndex(context: 8)
        _ = node.takeMessages()
        node.step(incoming(.heartbeat(Heartbeat(commit: 0)), from: 3, term: 3))
        #expect(readsAsked(in: node.takeMessages()) == ["8→n3"], "the deposed leader's own read was not asked of n3")
    }

    @Test func aFollowerThatBecomesLeaderAnswersItsOwnUnansweredReadInItsTerm() throws {
        let node = try followerWithAForwardedRead()
        node.campaign(.election)
        for voter: NodeID in [2, 3] {
            node.step(incoming(.voteResponse(VoteResponse(granted: true)), from: voter, term: node.term))
        }
        #expect(node.role == .leader, "fixture: the follower did not win its election")
        for voter: NodeID in [2, 3] {
            node.step(incoming(.appendResponse(AppendResponse(index: node.log.lastIndex())), from: voter, term: node.term))
        }
        let sequence = try #require(readSequences(in: node.takeMessages()).max(), "the new leader did not confirm read 5")
        node.step(incoming(.heartbeatResponse(HeartbeatResponse(readSequence: sequence)), from: 2, term: node.term))
        #expect(
            node.takeReadStates() == [ReadState(context: 5, index: node.log.committed)],
            "the new leader did not answer its own read with its commit index")
    }
}
