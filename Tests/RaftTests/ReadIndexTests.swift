import Testing
@testable import ReplicaCore

/// Linearizable reads through ReadIndex (Raft thesis §6.4).
@Suite struct ReadIndexTests {
    @Test func leaderAnswersReadAfterQuorumConfirmsLeadership() {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        node.acknowledgeAll(upTo: 1)
        _ = node.takeMessages()
        try? node.readIndex(context: 7)
        let heartbeats = node.takeMessages().filter {
            if case .heartbeat(let heartbeat) = $0.kind { heartbeat.readContext == 7 } else { false }
        }
        #expect(heartbeats.count == 2)
        #expect(node.readStates.isEmpty)
        node.step(message(from: 2, to: 1, term: node.term, .heartbeatResponse(HeartbeatResponse(readContext: 7))))
        let ready = node.processReady()
        #expect(ready.readStates == [ReadState(context: 7, index: 1)])
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

    @Test func followerWithoutLeaderRefusesRead() {
        let node = makeNode(1)
        #expect(throws: RaftRequestError.notLeader(leaderHint: nil)) {
            try node.readIndex(context: 1)
        }
    }

    @Test func singleReplicaAnswersReadAtOnce() throws {
        let node = makeNode(1, voters: [1])
        node.campaign()
        _ = node.takeMessages()
        try node.readIndex(context: 4)
        #expect(node.processReady().readStates == [ReadState(context: 4, index: 1)])
    }
}
