import Testing
@testable import ReplicaCore

/// CheckQuorum and PreVote (Raft thesis §6.2, §9.6).
@Suite(.recordsCoreInvariants) struct LeaderLeaseTests {
    @Test func leaderWithoutQuorumStepsDownWithinAnElectionTimeout() {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        for _ in 0..<(2 * 10) { node.tick() }
        #expect(node.role == .follower)
        #expect(node.leader == nil)
    }

    @Test func leaderHearingFromQuorumStaysLeader() {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        for _ in 0..<50 {
            node.tick()
            node.step(message(from: 2, to: 1, term: node.term, .heartbeatResponse(HeartbeatResponse())))
        }
        #expect(node.role == .leader)
    }

    @Test func followerInLeaseIgnoresHigherTermVoteRequests() {
        let node = makeNode(1)
        node.step(appendMessage(from: 2, term: 1, previous: (0, 0)))
        let request = VoteRequest(lastLogIndex: 10, lastLogTerm: 5)
        node.step(message(from: 3, to: 1, term: 6, .voteRequest(request)))
        #expect(node.term == 1, "a disruptive candidate must not raise the term")
        #expect(node.takeMessages().allSatisfy { if case .voteResponse = $0.kind { false } else { true } })
    }

    @Test func leadershipTransferCampaignOverridesTheLease() {
        let node = makeNode(1)
        node.step(appendMessage(from: 2, term: 1, previous: (0, 0)))
        let request = VoteRequest(lastLogIndex: 10, lastLogTerm: 5, isLeadershipTransfer: true)
        node.step(message(from: 3, to: 1, term: 2, .voteRequest(request)))
        #expect(node.term == 2)
        #expect(node.vote == 3)
    }

    @Test func preVoteDoesNotChangeTheVotersTerm() {
        let node = makeNode(1)
        node.step(message(from: 2, to: 1, term: 5, .preVoteRequest(VoteRequest(lastLogIndex: 0, lastLogTerm: 0))))
        #expect(node.term == 0)
        let reply = node.takeMessages().first
        guard case .preVoteResponse(let response)? = reply?.kind else {
            Issue.record("expected a pre-vote response")
            return
        }
        #expect(response.granted)
        #expect(reply?.term == 5)
    }

    @Test func rejectedPreElectionLeavesTermUnchanged() {
        let node = makeNode(1)
        node.campaign()
        _ = node.takeMessages()
        node.step(message(from: 2, to: 1, term: 0, .preVoteResponse(VoteResponse(granted: false))))
        node.step(message(from: 3, to: 1, term: 0, .preVoteResponse(VoteResponse(granted: false))))
        #expect(node.role == .follower)
        #expect(node.term == 0)
    }

    @Test func staleLeaderLearnsNewTermFromAppendReply() {
        let node = makeNode(1, storage: storage(withTerms: [], hardState: HardState(term: 4)))
        node.step(appendMessage(from: 2, term: 2, previous: (0, 0)))
        let reply = node.takeMessages().first
        #expect(reply?.term == 4)
        #expect(reply?.to == 2)
    }
}
