import Testing
@testable import ReplicaCore

/// What must be durable before what (the contract of `Ready`): a `Ready` that holds new
/// entries, a snapshot, or a new term or vote must be flushed (`mustSync`) before its
/// messages leave, since they promise that state; a commit-only change may be written lazily.
/// Only a leader whose term and vote did not change may send while it writes
/// (`canSendBeforePersisting`): its messages are appends and heartbeats, never a vote or an
/// acknowledgement.
@Suite(.recordsCoreInvariants) struct ReadyDurabilityRuleTests {
    struct DurabilityCase: CustomTestStringConvertible, Sendable {
        var name: String
        var mustSync: Bool
        var canSendBeforePersisting: Bool
        /// Brings a replica to the Ready under test and returns that Ready.
        var produce: @Sendable () -> Ready

        var testDescription: String { name }
    }

    static let cases: [DurabilityCase] = [
        DurabilityCase(name: "follower stores entries", mustSync: true, canSendBeforePersisting: false) {
            let node = makeReplica(role: .follower, term: 2, logTerms: [1])
            node.step(appendMessage(term: 2, previous: (1, 1), entries: entries([(2, 2)])))
            return node.ready()
        },
        DurabilityCase(name: "follower votes in the term it is already in", mustSync: true, canSendBeforePersisting: false) {
            let node = makeReplica(role: .follower, term: 2, logTerms: [1])
            node.step(incoming(.voteRequest(VoteRequest(lastLogIndex: 1, lastLogTerm: 1)), from: 3, term: 2))
            return node.ready()
        },
        DurabilityCase(name: "follower moves to a higher term", mustSync: true, canSendBeforePersisting: false) {
            let node = makeReplica(role: .follower, term: 2, logTerms: [1])
            node.step(incoming(.heartbeat(Heartbeat(commit: 0, readSequence: nil)), from: 2, term: 3))
            return node.ready()
        },
        DurabilityCase(name: "follower learns a commit only", mustSync: false, canSendBeforePersisting: false) {
            let node = makeReplica(role: .follower, term: 2, logTerms: [1, 1])
            node.step(incoming(.heartbeat(Heartbeat(commit: 2, readSequence: nil)), from: 2, term: 2))
            return node.ready()
        },
        DurabilityCase(name: "follower installs a snapshot", mustSync: true, canSendBeforePersisting: false) {
            let node = makeReplica(role: .follower, term: 2, logTerms: [1])
            let chunk = SnapshotChunk(
                metadata: SnapshotMetadata(index: 5, term: 2), offset: 0, totalByteCount: 1, data: [7], isLast: true)
            node.step(incoming(.snapshotChunk(chunk), from: 2, term: 2))
            return node.ready()
        },
        DurabilityCase(name: "candidate raises its term and votes for itself", mustSync: true, canSendBeforePersisting: false) {
            let node = makeReplica(role: .follower, term: 2, logTerms: [1]) { $0.preVote = false }
            node.campaign()
            return node.ready()
        },
        DurabilityCase(name: "leader proposes", mustSync: true, canSendBeforePersisting: true) {
            let node = makeReplica(role: .leader, term: 2, logTerms: [1])
            _ = try? node.propose([1])
            return node.ready()
        },
        DurabilityCase(name: "leader sends heartbeats", mustSync: false, canSendBeforePersisting: true) {
            let node = makeReplica(role: .leader, term: 2, logTerms: [1])
            node.tick(times: 1)
            return node.ready()
        },
        DurabilityCase(
            name: "candidate wins before its vote is persisted", mustSync: true, canSendBeforePersisting: false
        ) {
            // It leads in the same Ready that records its new term and its vote for itself:
            // its appends must not leave before that vote is durable.
            let node = makeReplica(role: .follower, term: 2, logTerms: [1]) { $0.preVote = false }
            node.campaign()
            node.step(incoming(.voteResponse(VoteResponse(granted: true)), from: 2, term: 3))
            #expect(node.role == .leader, "fixture: it won")
            return node.ready()
        },
        DurabilityCase(name: "leader with learners proposes alone", mustSync: true, canSendBeforePersisting: false) {
            // A sole voter commits alone: its learners must hear of the commit only once it is durable.
            let membership = Membership(voters: [1], learners: [2])
            let storage = MemoryRaftStorage()
            storage.append([Entry(term: 1, index: 1, data: membership.encoded(), kind: .membership)])
            storage.setHardState(HardState(term: 1, commit: 1))
            let node = makeNode(1, voters: [], storage: storage)
            node.becomeLeaderForTest()
            _ = node.takeMessages()
            _ = try? node.propose([1])
            return node.ready()
        },
        DurabilityCase(name: "single voter elects itself", mustSync: true, canSendBeforePersisting: false) {
            let node = makeNode(1, voters: [1], storage: storage(withTerms: [1], hardState: HardState(term: 1)))
            node.campaign()
            return node.ready()
        },
    ]

    @Test(arguments: cases)
    func readyIsFlushedAndSentInTheOrderItsContentNeeds(_ testCase: DurabilityCase) {
        let ready = testCase.produce()
        #expect(
            ready.mustSync == testCase.mustSync,
            "durability rule broke for \(testCase): mustSync \(ready.mustSync), expected \(testCase.mustSync)")
        #expect(
            ready.canSendBeforePersisting == testCase.canSendBeforePersisting,
            "ordering rule broke for \(testCase): canSendBeforePersisting \(ready.canSendBeforePersisting), expected \(testCase.canSendBeforePersisting)")
    }
}
