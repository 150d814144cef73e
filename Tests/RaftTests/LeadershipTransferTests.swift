import Testing
@testable import ReplicaCore

/// Leadership transfer (Raft thesis §3.10).
@Suite(.recordsCoreInvariants) struct LeadershipTransferTests {
    @Test func upToDateTargetReceivesTimeoutNow() throws {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        node.acknowledgeAll(upTo: 1)
        _ = node.takeMessages()
        try node.transferLeadership(to: 2)
        let sent = node.takeMessages()
        #expect(sent.contains { $0.to == 2 && $0.kind == .timeoutNow })
    }

    @Test func laggingTargetIsCaughtUpBeforeTimeoutNow() throws {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        _ = node.takeMessages()
        try node.transferLeadership(to: 2)
        #expect(!node.takeMessages().contains { $0.kind == .timeoutNow })
        node.step(message(from: 2, to: 1, term: node.term, .appendResponse(AppendResponse(index: 1))))
        #expect(node.takeMessages().contains { $0.to == 2 && $0.kind == .timeoutNow })
    }

    @Test func proposalsAreRefusedDuringTransfer() throws {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        try node.transferLeadership(to: 2)
        #expect(throws: RaftRequestError.leadershipTransferInProgress) {
            _ = try node.propose([1])
        }
    }

    @Test func transferIsAbandonedAfterAnElectionTimeout() throws {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        try node.transferLeadership(to: 2)
        for _ in 0..<10 {
            node.tick()
            node.step(message(from: 3, to: 1, term: node.term, .heartbeatResponse(HeartbeatResponse())))
        }
        #expect(node.role == .leader)
        #expect(node.leadershipTransferTarget == nil)
        _ = try node.propose([1])
    }

    @Test func timeoutNowMakesFollowerCampaignWithoutPreVote() {
        let node = makeNode(2, storage: storage(withTerms: [1], hardState: HardState(term: 1)))
        node.step(appendMessage(from: 1, to: 2, term: 1, previous: (1, 1)))
        node.step(message(from: 1, to: 2, term: 1, .timeoutNow))
        #expect(node.role == .candidate)
        #expect(node.term == 2)
        let requests = node.takeMessages().compactMap { message -> VoteRequest? in
            if case .voteRequest(let request) = message.kind { return request }
            return nil
        }
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.isLeadershipTransfer })
    }
}
