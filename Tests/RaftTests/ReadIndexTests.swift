import Testing
@testable import ReplicaCore

/// Linearizable reads through ReadIndex (Raft thesis §6.4).
@Suite(.recordsCoreInvariants) struct ReadIndexTests {
    @Test func leaderAnswersReadAfterQuorumConfirmsLeadership() {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        node.acknowledgeAll(upTo: 1)
        _ = node.takeMessages()
        try? node.readIndex(context: 7)
        let sequences = node.takeMessages().compactMap { message -> UInt64? in
            if case .heartbeat(let heartbeat) = message.kind { return heartbeat.readSequence }
            return nil
        }
        #expect(sequences.count == 2)
        #expect(node.readStates.isEmpty)
        node.step(message(from: 2, to: 1, term: node.term, .heartbeatResponse(HeartbeatResponse(readSequence: sequences[0]))))
        let ready = node.processReady()
        #expect(ready.readStates == [ReadState(context: 7, index: 1)])
    }

    /// Followers number their reads independently, so two may use the same
    /// context. A late answer to a heartbeat sent before a read arrived must
    /// never confirm that read.
    @Test func lateHeartbeatAnswerDoesNotConfirmALaterReadWithTheSameContext() {
        let node = makeNode(1, voters: [1, 2, 3, 4, 5])
        node.becomeLeaderForTest()
        node.acknowledgeAll(upTo: 1)
        _ = node.takeMessages()
        node.step(RaftMessage(from: 2, to: 1, term: 0, kind: .readIndex(ReadIndexRequest(context: 5))))
        let firstSequence = node.takeMessages().compactMap { message -> UInt64? in
            if case .heartbeat(let heartbeat) = message.kind { return heartbeat.readSequence }
            return nil
        }.first
        node.step(RaftMessage(from: 3, to: 1, term: 0, kind: .readIndex(ReadIndexRequest(context: 5))))
        _ = node.takeMessages()
        // Answers to the first heartbeat round only: they confirm the first read, not the second.
        for voter: NodeID in [2, 3, 4, 5] {
            node.step(message(from: voter, to: 1, term: node.term, .heartbeatResponse(HeartbeatResponse(readSequence: firstSequence))))
        }
        let answered = node.takeMessages().filter { if case .readIndexResponse = $0.kind { true } else { false } }
        #expect(answered.map(\.to) == [2])
        #expect(node.pendingReads.count == 1)
    }

    @Test func leaderDefersReadsUntilItCommitsAnEntryOfItsTerm() {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        _ = node.takeMessages()
        try? node.readIndex(context: 9)
        #expect(node.pendingReads.count == 0)
        #expect(node.readsAwaitingFirstCommit.count == 1)
        node.acknowledgeAll(upTo: 1)
        #expect(node.pendingReads.count == 1, "released into the confirmation queue once the no-op commits")
    }

    @Test func followerForwardsReadToLeaderAndSurfacesTheAnswer() throws {
        let node = makeNode(1)
        node.step(appendMessage(from: 2, term: 1, previous: (0, 0)))
        _ = node.takeMessages()
        try node.readIndex(context: 3)
        let forwarded = node.takeMessages()
        #expect(forwarded.count == 1)
        #expect(forwarded.first?.to == 2)
        node.step(message(from: 2, to: 1, term: 1, .readIndexResponse(ReadIndexResponse(context: 3, index: 5))))
        #expect(node.processReady().readStates == [ReadState(context: 3, index: 5)])
    }

    @Test func followerWithoutLeaderHoldsTheReadAndSendsNothing() throws {
        let node = makeNode(1)
        try node.readIndex(context: 1)
        #expect(node.takeMessages().isEmpty)
        #expect(node.unansweredReads.map(\.context) == [1])
    }

    @Test func singleReplicaAnswersReadAtOnce() throws {
        let node = makeNode(1, voters: [1])
        node.campaign()
        _ = node.takeMessages()
        try node.readIndex(context: 4)
        #expect(node.processReady().readStates == [ReadState(context: 4, index: 1)])
    }
}
