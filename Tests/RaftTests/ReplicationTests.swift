import Testing
@testable import ReplicaCore

/// Log replication rules of the Raft paper (§5.3, §5.4.2), one test per rule.
@Suite(.recordsCoreInvariants) struct ReplicationTests {
    private func appendRequests(_ messages: [RaftMessage]) -> [(to: NodeID, request: AppendRequest)] {
        messages.compactMap { message in
            if case .append(let request) = message.kind { return (message.to, request) }
            return nil
        }
    }

    @Test func leaderReplicatesProposalWithPreviousIndexAndTerm() throws {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        node.acknowledgeAll(upTo: 1)
        _ = node.takeMessages()
        let placement = try node.propose([7])
        #expect(placement.index == 2)
        let sent = appendRequests(node.takeMessages())
        #expect(Set(sent.map(\.to)) == [2, 3])
        for (_, request) in sent {
            #expect(request.previousLogIndex == 1)
            #expect(request.previousLogTerm == node.term)
            #expect(request.entries == [Entry(term: node.term, index: 2, data: [7])])
            #expect(request.commit == 1)
        }
    }

    @Test func leaderCommitsOnceAQuorumStoresTheEntry() throws {
        let node = makeNode(1, voters: [1, 2, 3, 4, 5])
        node.becomeLeaderForTest()
        _ = node.takeMessages()
        let placement = try node.propose([1])
        _ = node.takeMessages()
        node.step(message(from: 2, to: 1, term: node.term, .appendResponse(AppendResponse(index: placement.index))))
        #expect(node.log.committed == 0)
        node.step(message(from: 3, to: 1, term: node.term, .appendResponse(AppendResponse(index: placement.index))))
        #expect(node.log.committed == placement.index)
        let applied = node.takeCommittedEntries()
        #expect(applied.last?.data == [1])
    }

    @Test func committingAnEntryCommitsAllPrecedingEntries() throws {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        for value in 0..<3 { _ = try node.propose([UInt8(value)]) }
        _ = node.takeMessages()
        node.step(message(from: 2, to: 1, term: node.term, .appendResponse(AppendResponse(index: 4))))
        #expect(node.log.committed == 4)
        #expect(node.takeCommittedEntries().map(\.index) == [1, 2, 3, 4])
    }

    @Test func leaderOnlyCommitsByCountingEntriesOfItsOwnTerm() {
        // Entries 1 and 2 are from term 1; the node leads term 3.
        let node = makeNode(1, storage: storage(withTerms: [1, 1], hardState: HardState(term: 2)))
        node.becomeLeaderForTest()
        #expect(node.term == 3)
        _ = node.takeMessages()
        node.step(message(from: 2, to: 1, term: 3, .appendResponse(AppendResponse(index: 2))))
        #expect(node.log.committed == 0, "an old-term entry on a quorum must not be committed by counting")
        node.step(message(from: 2, to: 1, term: 3, .appendResponse(AppendResponse(index: 3))))
        #expect(node.log.committed == 3)
    }

    @Test func followerCommitsUpToLeaderCommitWithinWhatItMatched() {
        let node = makeNode(1)
        node.step(appendMessage(term: 1, previous: (0, 0), entries: entries([(1, 1), (2, 1)]), commit: 5))
        #expect(node.log.committed == 2)
        node.step(appendMessage(term: 1, previous: (2, 1), entries: entries([(3, 1)]), commit: 1))
        #expect(node.log.committed == 2, "commit index never goes back")
    }

    @Test func followerRejectsAppendWhosePreviousEntryDoesNotMatch() {
        let node = makeNode(1, storage: storage(withTerms: [1, 2]))
        node.step(appendMessage(term: 3, previous: (2, 3), entries: entries([(3, 3)])))
        let reply = node.takeMessages().first
        guard case .appendResponse(let response)? = reply?.kind else {
            Issue.record("expected an append response")
            return
        }
        #expect(response.rejection != nil)
        #expect(response.index == 2)
        #expect(response.rejection?.hintIndex == 2)
        #expect(response.rejection?.hintTerm == 2)
        #expect(node.log.lastIndex() == 2)
    }

    @Test func followerDeletesConflictingEntriesAndAppendsNewOnes() {
        let node = makeNode(1, storage: storage(withTerms: [1, 1, 1, 1]))
        node.step(appendMessage(term: 2, previous: (2, 1), entries: entries([(3, 2)])))
        #expect(node.log.lastIndex() == 3)
        #expect(node.log.term(at: 3) == 2)
        node.processReady()
        #expect(node.memoryStorage.lastIndex() == 3, "storage drops the overwritten suffix too")
    }

    @Test func followerKeepsLaterEntriesWhenAppendIsAPrefixItHolds() {
        let node = makeNode(1, storage: storage(withTerms: [1, 1, 1]))
        node.step(appendMessage(term: 1, previous: (0, 0), entries: entries([(1, 1)])))
        #expect(node.log.lastIndex() == 3, "a delayed, shorter append must not truncate the log")
    }

    @Test func rejectionHintLetsLeaderSkipAWholeConflictingTerm() {
        // Leader log: terms 1,1,1,4,4,4,4 ; follower log: 1,1,1,2,2,2,2,2,2.
        let leader = makeNode(1, storage: storage(withTerms: [1, 1, 1, 4, 4, 4, 4], hardState: HardState(term: 4)))
        let follower = makeNode(2, storage: storage(withTerms: [1, 1, 1, 2, 2, 2, 2, 2, 2], hardState: HardState(term: 4)))
        leader.becomeLeaderForTest()
        var rounds = 0
        var pending = leader.takeMessages().filter { $0.to == 2 }
        while !pending.isEmpty && rounds < 10 {
            rounds += 1
            for message in pending { follower.step(message) }
            for reply in follower.takeMessages() { leader.step(reply) }
            pending = leader.takeMessages().filter { $0.to == 2 && { if case .append = $0.kind { true } else { false } }($0) }
            if follower.log.lastIndex() == leader.log.lastIndex(), follower.log.term(at: 8) == leader.term { break }
        }
        #expect(follower.log.lastIndex() == leader.log.lastIndex())
        #expect(follower.log.term(at: 4) == 4)
        #expect(rounds <= 3, "backtracking should take a round per term, not per entry")
    }

    @Test func appendsArePipelinedUpToTheInflightLimit() throws {
        let node = makeNode(1) {
            $0.maxInflightMessages = 2
            $0.maxEntriesPerMessage = 1
        }
        node.becomeLeaderForTest()
        _ = node.takeMessages()
        node.acknowledgeAll(upTo: 1)
        _ = node.takeMessages()
        for value in 0..<5 { _ = try node.propose([UInt8(value)]) }
        let toTwo = appendRequests(node.takeMessages()).filter { $0.to == 2 && !$0.request.entries.isEmpty }
        #expect(toTwo.count == 2, "two appends in flight, then the follower is paused")
    }

    @Test func probingFollowerGetsOneAppendUntilItAnswers() throws {
        let node = makeNode(1)
        node.becomeLeaderForTest()
        let probes = appendRequests(node.takeMessages()).filter { $0.to == 2 }
        #expect(probes.count == 1)
        for value in 0..<3 { _ = try node.propose([UInt8(value)]) }
        let toTwo = appendRequests(node.takeMessages()).filter { $0.to == 2 }
        #expect(toTwo.isEmpty, "nothing more until the probe is answered")
    }

    @Test func appendsAreBatchedByCountAndBytes() throws {
        let node = makeNode(1) { $0.maxEntriesPerMessage = 3 }
        node.becomeLeaderForTest()
        node.acknowledgeAll(upTo: 1)
        _ = node.takeMessages()
        for value in 0..<7 { _ = try node.propose([UInt8(value)]) }
        let toTwo = appendRequests(node.takeMessages()).filter { $0.to == 2 }
        #expect(toTwo.map(\.request.entries.count) == [3, 3, 1])
    }

    @Test func followerProposalIsRefusedWithLeaderHint() {
        let node = makeNode(1)
        node.step(appendMessage(from: 3, term: 1, previous: (0, 0)))
        #expect(throws: RaftRequestError.notLeader(leaderHint: 3)) {
            _ = try node.propose([1])
        }
    }

    @Test func leaderDropsProposalsBeyondTheUncommittedByteLimit() throws {
        let node = makeNode(1) { $0.maxUncommittedEntriesBytes = 10 }
        node.becomeLeaderForTest()
        _ = try node.propose([UInt8](repeating: 0, count: 8))
        #expect(throws: RaftRequestError.proposalDropped) {
            _ = try node.propose([UInt8](repeating: 0, count: 8))
        }
    }
}
