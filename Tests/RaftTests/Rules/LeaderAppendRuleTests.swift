import Testing
@testable import ReplicaCore

/// Raft §5.3 at the leader: it only appends to its own log (never overwrites
/// or deletes), every append it sends names a previous entry that its own log
/// holds (log matching), and a rejected append makes it back off and probe.
@Suite(.recordsCoreInvariants) struct LeaderAppendRuleTests {
    // MARK: Append-only

    struct AppendOnlyCase: CustomTestStringConvertible, Sendable {
        var name: String
        var proposals: Int
        /// Messages of the leader's own term (t3) that would rewrite a follower's log.
        var intruders: [MessageSample]

        var testDescription: String { "\(name): \(proposals) proposals, then \(intruders)" }
    }

    @Test(arguments: [
        AppendOnlyCase(name: "proposals only", proposals: 3, intruders: []),
        AppendOnlyCase(name: "append of its own term", proposals: 2, intruders: [.append]),
        AppendOnlyCase(name: "snapshot and heartbeat of its own term", proposals: 1, intruders: [.snapshotChunk, .heartbeat]),
        AppendOnlyCase(name: "conflicting append", proposals: 0, intruders: [.append, .append]),
    ])
    func leaderNeverOverwritesItsOwnEntries(_ testCase: AppendOnlyCase) throws {
        let node = makeReplica(role: .leader, term: 3, logTerms: [1, 2])
        let before = node.log.entries(in: 1..<(node.log.lastIndex() + 1), maxBytes: .max) ?? []
        for proposal in 0..<testCase.proposals {
            let placement = try node.propose([UInt8(proposal)])
            #expect(
                placement.index == before.last!.index + UInt64(proposal + 1) && placement.term == 3,
                "rule §5.3 (leader appends at the end) broke for \(testCase): proposal \(proposal) placed at \(placement)")
        }
        for intruder in testCase.intruders {
            var kind = intruder.kind
            if intruder == .append {
                // Claims index 2 onwards in term 3 with different data.
                kind = .append(AppendRequest(
                    previousLogIndex: 1, previousLogTerm: 1, entries: [Entry(term: 3, index: 2, data: [99])], commit: 2))
            }
            node.step(incoming(kind, from: 2, term: 3))
        }
        let after = node.log.entries(in: 1..<(node.log.lastIndex() + 1), maxBytes: .max) ?? []
        #expect(
            Array(after.prefix(before.count)) == before,
            "rule §5.3 (leader append-only) broke for \(testCase): \(before) became \(after.prefix(before.count))")
        #expect(
            after.count == before.count + testCase.proposals,
            "rule §5.3 (leader append-only) broke for \(testCase): \(after.count) entries, expected \(before.count + testCase.proposals)")
        #expect(node.role == .leader && node.term == 3, "a leader gave way to a message of its own term for \(testCase): \(ReplicaSummary(node))")
    }

    // MARK: Log matching

    struct MatchingCase: CustomTestStringConvertible, Sendable {
        var name: String
        var logTerms: [UInt64]
        var proposals: Int
        /// What follower 2 acknowledges first (0: nothing, it stays probed).
        var acknowledged: UInt64
        var maxEntriesPerMessage = 256

        var testDescription: String { "\(name): log \(logTerms) + \(proposals) proposals, n2 acknowledged \(acknowledged)" }
    }

    @Test(arguments: [
        MatchingCase(name: "probing a new follower", logTerms: [1, 1, 2], proposals: 2, acknowledged: 0),
        MatchingCase(name: "replicating from the middle", logTerms: [1, 1, 2], proposals: 3, acknowledged: 2),
        MatchingCase(name: "replicating in small batches", logTerms: [1, 2, 2, 3], proposals: 5, acknowledged: 1, maxEntriesPerMessage: 2),
        MatchingCase(name: "from the empty prefix", logTerms: [], proposals: 3, acknowledged: 1, maxEntriesPerMessage: 1),
    ])
    func everyAppendNamesAPreviousEntryTheLeaderHolds(_ testCase: MatchingCase) throws {
        let node = makeReplica(role: .leader, term: 4, logTerms: testCase.logTerms) {
            $0.maxEntriesPerMessage = testCase.maxEntriesPerMessage
        }
        if testCase.acknowledged > 0 {
            node.step(incoming(.appendResponse(AppendResponse(index: LogIndex(testCase.acknowledged))), from: 2, term: 4))
        }
        for proposal in 0..<testCase.proposals { _ = try node.propose([UInt8(proposal)]) }
        node.tick()
        node.step(incoming(.heartbeatResponse(HeartbeatResponse()), from: 3, term: 4))
        let appends = node.takeMessages().compactMap { message in message.appendRequest.map { (message.to, $0) } }
        #expect(!appends.isEmpty, "no append was sent for \(testCase)")
        for (follower, request) in appends {
            let heldTerm = node.log.term(at: request.previousLogIndex)
            #expect(
                heldTerm == request.previousLogTerm,
                "rule §5.3 (log matching) broke for \(testCase): append to \(follower) names (\(request.previousLogIndex), \(request.previousLogTerm)) but the leader holds \(String(describing: heldTerm))")
            var expectedIndex = request.previousLogIndex + 1
            for entry in request.entries {
                let held = node.log.entries(in: entry.index..<(entry.index + 1), maxBytes: .max)?.first
                #expect(
                    entry.index == expectedIndex && held == entry,
                    "rule §5.3 (log matching) broke for \(testCase): append to \(follower) carries \(entry), the leader holds \(String(describing: held)) at \(expectedIndex)")
                expectedIndex = expectedIndex + 1
            }
            #expect(request.commit <= node.log.committed, "append to \(follower) carries commit \(request.commit) above the leader's \(node.log.committed)")
        }
    }

    // MARK: Rejection

    struct RejectionCase: CustomTestStringConvertible, Sendable {
        var name: String
        /// Whether follower 2 first acknowledged index 3, moving it to the replicate state.
        var replicating: Bool
        var rejectedIndex: UInt64
        var hint: (index: UInt64, term: UInt64)
        var expectedState: ReplicationState
        var expectedNext: UInt64
        /// The previous index of the append sent in answer, nil when none may be sent.
        var expectedProbe: UInt64?

        var testDescription: String {
            "\(name): \(replicating ? "replicating" : "probing") n2 rejects i\(rejectedIndex) with hint (i\(hint.index), t\(hint.term))"
        }
    }

    /// The leader's log is [1, 1, 1, 4, 4, 4, 4] plus its no-op (term 5) at 8.
    static let rejections: [RejectionCase] = [
        RejectionCase(
            name: "hint of an older term skips the leader's whole term 4", replicating: false, rejectedIndex: 7, hint: (7, 2),
            expectedState: .probe, expectedNext: 4, expectedProbe: 3),
        RejectionCase(
            name: "hint without a term is taken as an index", replicating: false, rejectedIndex: 7, hint: (2, 0),
            expectedState: .probe, expectedNext: 3, expectedProbe: 2),
        RejectionCase(
            name: "hint back to the start", replicating: false, rejectedIndex: 7, hint: (0, 0),
            expectedState: .probe, expectedNext: 1, expectedProbe: 0),
        RejectionCase(
            name: "hint beyond the rejected index backs off by one", replicating: false, rejectedIndex: 7, hint: (9, 4),
            expectedState: .probe, expectedNext: 7, expectedProbe: 6),
        RejectionCase(
            name: "stale rejection of another probe", replicating: false, rejectedIndex: 5, hint: (5, 1),
            expectedState: .probe, expectedNext: 8, expectedProbe: nil),
        RejectionCase(
            name: "replicating follower falls back to probing after its match", replicating: true, rejectedIndex: 8,
            hint: (5, 4), expectedState: .probe, expectedNext: 4, expectedProbe: 3),
        RejectionCase(
            name: "stale rejection at or below the match", replicating: true, rejectedIndex: 3, hint: (1, 1),
            expectedState: .replicate, expectedNext: 9, expectedProbe: nil),
    ]

    @Test(arguments: rejections)
    func rejectedAppendMakesTheLeaderBackOffAndProbe(_ testCase: RejectionCase) {
        let node = makeReplica(role: .leader, term: 5, logTerms: [1, 1, 1, 4, 4, 4, 4])
        if testCase.replicating {
            node.step(incoming(.appendResponse(AppendResponse(index: 3)), from: 2, term: 5))
            _ = node.takeMessages()
        }
        let rejection = AppendRejection(hintIndex: LogIndex(testCase.hint.index), hintTerm: Term(testCase.hint.term))
        node.step(incoming(
            .appendResponse(AppendResponse(index: LogIndex(testCase.rejectedIndex), rejection: rejection)), from: 2, term: 5))
        let progress = node.status().progress[2]
        #expect(
            progress?.state == testCase.expectedState && progress?.next == LogIndex(testCase.expectedNext),
            "rule §5.3 (back off on rejection) broke for \(testCase): n2 is \(String(describing: progress?.state)) next \(String(describing: progress?.next)), expected \(testCase.expectedState) next \(testCase.expectedNext)")
        let probes = node.takeMessages().filter { $0.to == 2 }.compactMap(\.appendRequest)
        #expect(
            probes.map(\.previousLogIndex.rawValue) == (testCase.expectedProbe.map { [$0] } ?? []),
            "rule §5.3 (probe after rejection) broke for \(testCase): sent appends after \(probes.map(\.previousLogIndex)), expected \(String(describing: testCase.expectedProbe))")
        #expect(progress?.match == (testCase.replicating ? 3 : 0), "a rejection moved n2's match for \(testCase): \(String(describing: progress?.match))")
    }

    /// A probed follower gets one append at a time: more only after it answers.
    @Test(arguments: [1, 3, 8])
    func probedFollowerGetsOneAppendUntilItAnswers(proposals: Int) throws {
        let node = makeReplica(role: .leader, term: 2, logTerms: [1])
        for proposal in 0..<proposals { _ = try node.propose([UInt8(proposal)]) }
        let toFollower = node.takeMessages().filter { $0.to == 2 && $0.appendRequest != nil }
        #expect(toFollower.isEmpty, "rule §5.3 (one probe in flight) broke for \(proposals) proposals: sent \(toFollower.summary) while the no-op probe is unanswered")
        node.step(incoming(.appendResponse(AppendResponse(index: 2)), from: 2, term: 2))
        let next = node.takeMessages().filter { $0.to == 2 }.compactMap(\.appendRequest)
        #expect(
            next.first?.previousLogIndex == 2 && next.flatMap(\.entries).count == proposals,
            "rule §5.3 broke for \(proposals) proposals: after the answer n2 got \(next)")
    }
}
