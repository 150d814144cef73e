import Testing
@testable import ReplicaCore

/// Leader election rules of the Raft paper (§5.1, §5.2, §5.4.1), one test per rule.
@Suite(.recordsCoreInvariants) struct ElectionTests {
    @Test func replicaStartsAsFollower() {
        let node = makeNode(1)
        #expect(node.role == .follower)
        #expect(node.term == 0)
        #expect(node.leader == nil)
    }

    @Test(arguments: [RaftRole.follower, .candidate, .leader])
    func higherTermMessageTurnsAnyRoleIntoFollower(role: RaftRole) {
        let node = makeNode(1) { $0.preVote = false }
        switch role {
        case .candidate: node.campaign()
        case .leader: node.becomeLeaderForTest()
        default: break
        }
        let higherTerm = node.term.next.next
        node.step(appendMessage(from: 2, term: higherTerm, previous: (0, 0)))
        #expect(node.role == .follower)
        #expect(node.term == higherTerm)
        #expect(node.leader == 2)
    }

    @Test func staleTermAppendIsRejectedWithCurrentTerm() {
        let node = makeNode(1, storage: storage(withTerms: [], hardState: HardState(term: 5)))
        node.step(appendMessage(from: 2, term: 3, previous: (0, 0), entries: entries([(1, 3)])))
        #expect(node.log.lastIndex() == 0)
        let replies = node.takeMessages()
        #expect(replies.count == 1)
        #expect(replies.first?.term == 5)
    }

    @Test func followerStartsPreElectionAfterTimeoutWithoutRaisingTerm() {
        let node = makeNode(1)
        for _ in 0..<20 { node.tick() }
        #expect(node.role == .preCandidate)
        #expect(node.term == 0)
        let requests = node.takeMessages()
        #expect(requests.count == 2)
        for request in requests {
            guard case .preVoteRequest = request.kind else {
                Issue.record("expected a pre-vote request, got \(request.kind)")
                continue
            }
            #expect(request.term == 1)
        }
    }

    @Test func followerWithoutPreVoteStartsElectionAndVotesForItself() {
        let node = makeNode(1) { $0.preVote = false }
        for _ in 0..<20 { node.tick() }
        #expect(node.role == .candidate)
        #expect(node.term == 1)
        #expect(node.vote == 1)
        let requests = node.takeMessages()
        #expect(Set(requests.map(\.to)) == [2, 3])
        #expect(requests.allSatisfy { if case .voteRequest = $0.kind { true } else { false } })
    }

    @Test func preCandidateBecomesCandidateOnQuorumOfPreVotes() {
        let node = makeNode(1)
        node.campaign()
        _ = node.takeMessages()
        node.step(message(from: 2, to: 1, term: 1, .preVoteResponse(VoteResponse(granted: true))))
        #expect(node.role == .candidate)
        #expect(node.term == 1)
    }

    @Test(arguments: [
        (3, [UInt64: Bool](), RaftRole.candidate),
        (3, [2: true], .leader),
        (3, [2: false, 3: false], .follower),
        (5, [2: true], .candidate),
        (5, [2: true, 3: true], .leader),
        (5, [2: false, 3: false, 4: false], .follower),
        (5, [2: true, 3: false, 4: false], .candidate),
    ])
    func electionOutcomeFollowsVoteCount(size: Int, votes: [UInt64: Bool], expected: RaftRole) {
        let voters = (1...UInt64(size)).map { NodeID($0) }
        let node = makeNode(1, voters: voters) { $0.preVote = false }
        node.campaign()
        for (voter, granted) in votes {
            node.step(message(from: NodeID(voter), to: 1, term: 1, .voteResponse(VoteResponse(granted: granted))))
        }
        #expect(node.role == expected)
    }

    @Test func followerGrantsAtMostOneVotePerTerm() {
        let node = makeNode(1) { $0.preVote = false }
        let request = VoteRequest(lastLogIndex: 0, lastLogTerm: 0)
        node.step(message(from: 2, to: 1, term: 1, .voteRequest(request)))
        node.step(message(from: 3, to: 1, term: 1, .voteRequest(request)))
        node.step(message(from: 2, to: 1, term: 1, .voteRequest(request)))
        let grants = node.takeMessages().map { reply -> Bool in
            if case .voteResponse(let response) = reply.kind { return response.granted }
            return false
        }
        #expect(grants == [true, false, true])
        #expect(node.vote == 2)
    }

    @Test(arguments: [
        // (voter's last index, term), (candidate's last index, term), granted
        ((2, 2), (2, 2), true),
        ((2, 2), (3, 2), true),
        ((2, 2), (1, 2), false),
        ((2, 2), (1, 3), true),
        ((2, 2), (5, 1), false),
    ])
    func voterGrantsOnlyToUpToDateLogs(voterLog: (Int, Int), candidate: (UInt64, UInt64), granted: Bool) {
        var terms = [UInt64](repeating: 1, count: voterLog.0)
        terms[voterLog.0 - 1] = UInt64(voterLog.1)
        let node = makeNode(1, storage: storage(withTerms: terms)) { $0.preVote = false }
        let request = VoteRequest(lastLogIndex: LogIndex(candidate.0), lastLogTerm: Term(candidate.1))
        node.step(message(from: 2, to: 1, term: 5, .voteRequest(request)))
        let reply = node.takeMessages().first
        guard case .voteResponse(let response)? = reply?.kind else {
            Issue.record("expected a vote response")
            return
        }
        #expect(response.granted == granted)
    }

    @Test func candidateFallsBackToFollowerOnAppendFromLeaderOfSameTerm() {
        let node = makeNode(1) { $0.preVote = false }
        node.campaign()
        node.step(appendMessage(from: 2, term: 1, previous: (0, 0)))
        #expect(node.role == .follower)
        #expect(node.leader == 2)
        #expect(node.term == 1)
    }

    @Test func electionTimeoutsAreRandomizedAcrossTheRange() {
        var seen = Set<Int>()
        for seed in 0..<200 {
            let node = makeNode(1, seed: UInt64(seed))
            seen.insert(node.randomizedElectionTimeout)
        }
        #expect(seen == Set(10..<20))
    }

    @Test func newLeaderAppendsNoOpEntryOfItsTerm() {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        #expect(node.log.lastIndex() == 1)
        #expect(node.log.term(at: 1) == node.term)
        let appended = node.log.entries(in: 1..<2, maxBytes: .max)
        #expect(appended?.first?.isNoOp == true)
    }

    @Test func singleReplicaElectsItselfAndCommitsImmediately() throws {
        let node = makeNode(1, voters: [1])
        node.campaign()
        #expect(node.role == .leader)
        let placement = try node.propose([42])
        let committed = node.takeCommittedEntries()
        #expect(committed.map(\.index) == [1, placement.index])
        #expect(committed.last?.data == [42])
    }

    @Test func leaderBroadcastsHeartbeatsEveryHeartbeatTick() {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        _ = node.takeMessages()
        node.tick()
        let heartbeats = node.takeMessages().filter { if case .heartbeat = $0.kind { true } else { false } }
        #expect(Set(heartbeats.map(\.to)) == [2, 3])
    }
}
