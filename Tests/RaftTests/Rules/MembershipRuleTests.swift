import Testing
@testable import ReplicaCore

// Thesis §4.1–4.2: one voter at a time, the configuration in force as soon as it is in
// the log, learners that replicate but never vote or count, one change in flight.

/// Storage whose log starts with a committed membership entry (term 1, index 1).
private func storage(membership: Membership, term: Term = 1) -> MemoryRaftStorage {
    let storage = MemoryRaftStorage()
    storage.append([membershipEntry(membership, index: 1, term: 1)])
    storage.setHardState(HardState(term: term, commit: 1))
    return storage
}

private func membershipEntry(_ membership: Membership, index: LogIndex, term: Term) -> Entry {
    Entry(term: term, index: index, data: membership.encoded(), kind: .membership)
}

/// Replica 1 leading `membership` (stored at index 1) with its no-op committed by every voter.
private func committedLeader(_ membership: Membership, promotionLag: Int = 1000) -> RaftNode {
    let node = makeNode(1, voters: [], storage: storage(membership: membership)) { $0.maxPromotionLag = promotionLag }
    node.becomeLeaderForTest()
    _ = node.takeMessages()
    node.acknowledgeAll(upTo: node.log.lastIndex())
    _ = node.takeMessages()
    #expect(node.hasCommittedEntryInCurrentTerm, "fixture: the leader committed its no-op")
    return node
}

private let threeVotersAndALearner = Membership(voters: [1, 2, 3], learners: [4])

@Suite(.recordsCoreInvariants) struct MembershipRuleTests {
    // MARK: Where the configuration comes from

    @Test func restartedReplicaActsOnTheLastConfigurationInItsLog() {
        let node = makeNode(1, voters: [1, 2, 3], storage: storage(membership: threeVotersAndALearner))
        #expect(node.membership == threeVotersAndALearner, "the log's configuration overrides the bootstrap voters")
        #expect(Set(node.peers) == [2, 3, 4])
    }

    @Test func configurationIsInForceOnceAppendedBeforeItIsCommitted() {
        let node = makeNode(1, voters: [1, 2, 3])
        let grown = Membership(voters: [1, 2, 3], learners: [4])
        node.step(appendMessage(term: 1, previous: (0, 0), entries: [membershipEntry(grown, index: 1, term: 1)], commit: 0))
        #expect(node.log.committed == 0)
        #expect(node.membership == grown)
    }

    @Test func truncatingAConfigurationEntryRestoresThePreviousConfiguration() {
        let node = makeNode(1, voters: [1, 2, 3])
        let shrunk = Membership(voters: [1, 2])
        node.step(appendMessage(term: 1, previous: (0, 0), entries: [membershipEntry(shrunk, index: 1, term: 1)]))
        #expect(node.membership == shrunk)
        // A leader of term 2 overwrites the uncommitted index 1 with its own entry.
        node.step(appendMessage(term: 2, previous: (0, 0), entries: entries([(1, 2)])))
        #expect(node.log.term(at: 1) == 2)
        #expect(node.membership == Membership(voters: [1, 2, 3]), "the overwritten configuration no longer applies")
        #expect(node.peers.contains(3))
    }

    @Test func installedSnapshotBringsItsConfiguration() {
        let node = makeNode(4, voters: [])
        #expect(node.membership.isEmpty)
        let metadata = SnapshotMetadata(index: 10, term: 2, membership: threeVotersAndALearner)
        let chunk = SnapshotChunk(metadata: metadata, offset: 0, totalByteCount: 1, data: [7], isLast: true)
        node.step(message(from: 1, to: 4, term: 2, .snapshotChunk(chunk)))
        #expect(node.membership == threeVotersAndALearner)
    }

    @Test func replicaThatKnowsNoConfigurationNeverVotesNorCampaigns() {
        let node = makeNode(4, voters: [])
        node.tick(times: 100)
        #expect(node.takeMessages().isEmpty, "it campaigned")
        node.step(message(from: 1, to: 4, term: 5, .voteRequest(VoteRequest(lastLogIndex: 100, lastLogTerm: 5))))
        let answers = node.takeMessages().compactMap(\.voteResponse)
        #expect(answers == [VoteResponse(granted: false)])
        #expect(node.vote == nil)
    }

    // MARK: Learners

    @Test func learnerNeverCampaigns() {
        let node = makeNode(4, voters: [], storage: storage(membership: threeVotersAndALearner))
        node.tick(times: 100)
        let campaigns = node.takeMessages().filter { $0.voteRequest != nil || $0.preVoteRequest != nil }
        #expect(campaigns.isEmpty)
        #expect(node.role == .follower)
    }

    @Test func learnersVoteDoesNotCount() {
        let node = makeNode(1, voters: [], storage: storage(membership: threeVotersAndALearner)) { $0.preVote = false }
        node.campaign()
        _ = node.takeMessages()
        node.step(message(from: 4, to: 1, term: node.term, .voteResponse(VoteResponse(granted: true))))
        #expect(node.role == .candidate, "its own vote and a learner's are not a majority of three voters")
        node.step(message(from: 2, to: 1, term: node.term, .voteResponse(VoteResponse(granted: true))))
        #expect(node.role == .leader)
    }

    @Test func learnersCopyDoesNotCountTowardCommit() {
        let leader = committedLeader(threeVotersAndALearner)
        let placed = try! leader.propose([1])
        _ = leader.takeMessages()
        leader.step(message(from: 4, to: 1, term: leader.term, .appendResponse(AppendResponse(index: placed.index))))
        #expect(leader.log.committed < placed.index, "leader and learner are not a majority")
        leader.step(message(from: 2, to: 1, term: leader.term, .appendResponse(AppendResponse(index: placed.index))))
        #expect(leader.log.committed == placed.index)
    }

    @Test func leaderReplicatesToLearners() {
        let leader = committedLeader(threeVotersAndALearner)
        _ = try! leader.propose([1])
        let appends = leader.takeMessages().filter { $0.appendRequest != nil }.map(\.to)
        #expect(Set(appends) == [2, 3, 4])
    }

    // MARK: Proposing a change

    @Test func newLeaderProposesAChangeOnlyAfterCommittingAnEntryOfItsTerm() {
        let node = makeNode(1, voters: [], storage: storage(membership: threeVotersAndALearner))
        node.becomeLeaderForTest()
        #expect(throws: RaftRequestError.membershipChangeInProgress) {
            try node.proposeMembership(threeVotersAndALearner.removing(4))
        }
    }

    @Test func onlyOneChangeIsInFlight() throws {
        let leader = committedLeader(threeVotersAndALearner)
        try leader.proposeMembership(threeVotersAndALearner.addingLearner(5, address: "x"))
        #expect(throws: RaftRequestError.membershipChangeInProgress) {
            try leader.proposeMembership(threeVotersAndALearner.removing(4))
        }
        leader.acknowledgeAll(upTo: leader.log.lastIndex())
        try leader.proposeMembership(leader.membership.removing(4))
    }

    static let refusedChanges: [(String, Membership)] = [
        ("two voters added", Membership(voters: [1, 2, 3, 4, 5])),
        ("two voters removed", Membership(voters: [1], learners: [4])),
        ("a voter swapped for another", Membership(voters: [1, 2, 5], learners: [4])),
        ("a voter added without being a learner first", Membership(voters: [1, 2, 3, 5], learners: [4])),
        ("no voter left", Membership(voters: [], learners: [1, 2, 3, 4])),
    ]

    @Test(arguments: refusedChanges)
    func changeOfMoreThanOneVoterOrToNoVoterIsRefused(_ name: String, _ proposed: Membership) {
        let leader = committedLeader(threeVotersAndALearner)
        let before = leader.log.lastIndex()
        do {
            try leader.proposeMembership(proposed)
            Issue.record("\(name): accepted")
        } catch {
            if case .invalidMembershipChange = error {} else { Issue.record("\(name): \(error)") }
        }
        #expect(leader.log.lastIndex() == before, "\(name): nothing was appended")
    }

    @Test func eighthVoterIsRefused() {
        let seven = Membership(voters: (1...7).map { NodeID($0) }, learners: [8])
        let leader = committedLeader(seven)
        #expect(throws: RaftRequestError.invalidMembershipChange("at most 7 voters")) {
            try leader.proposeMembership(seven.promoting(8))
        }
    }

    @Test func learnerIsPromotedOnlyWithinTheLagBoundOfTheLeadersLog() throws {
        let leader = committedLeader(threeVotersAndALearner, promotionLag: 2)
        for _ in 0..<3 { _ = try leader.propose([1]) }
        _ = leader.takeMessages()
        leader.step(message(from: 4, to: 1, term: leader.term, .appendResponse(AppendResponse(index: 2))))
        #expect(throws: RaftRequestError.learnerNotCaughtUp(match: 2, lastIndex: 5)) {
            try leader.proposeMembership(threeVotersAndALearner.promoting(4))
        }
        leader.step(message(from: 4, to: 1, term: leader.term, .appendResponse(AppendResponse(index: 3))))
        try leader.proposeMembership(threeVotersAndALearner.promoting(4))
        #expect(leader.membership.isVoter(4))
    }

    // MARK: A change of voters leaves a reachable majority

    /// `leader` after an election timeout in which only `answering` answered it.
    private func electionTimeoutHearingOnly(_ answering: [NodeID], at leader: RaftNode) {
        leader.tick(times: leader.config.electionTick)
        for peer in answering {
            leader.step(message(from: peer, to: 1, term: leader.term, .appendResponse(AppendResponse(index: leader.log.lastIndex()))))
        }
        _ = leader.takeMessages()
        #expect(leader.role == .leader, "fixture: the leader still has a quorum")
    }

    @Test func promotingALearnerIsRefusedWhenTooFewOfTheVotersItMakesAnswer() {
        let leader = committedLeader(threeVotersAndALearner)
        electionTimeoutHearingOnly([2], at: leader)
        #expect(throws: RaftRequestError.wouldLoseQuorum(unreachable: [3, 4], quorum: 3)) {
            try leader.proposeMembership(threeVotersAndALearner.promoting(4))
        }
        #expect(leader.membership == threeVotersAndALearner, "a refused change entered the log")
    }

    @Test func removingAVoterIsRefusedWhenTheVotersLeftCannotFormAMajority() {
        let leader = committedLeader(Membership(voters: [1, 2, 3]))
        electionTimeoutHearingOnly([2], at: leader)
        #expect(throws: RaftRequestError.wouldLoseQuorum(unreachable: [3], quorum: 2)) {
            try leader.proposeMembership(Membership(voters: [1, 3]))
        }
    }

    @Test func removingTheVoterThatStoppedAnsweringIsAllowed() throws {
        let leader = committedLeader(Membership(voters: [1, 2, 3]))
        electionTimeoutHearingOnly([2], at: leader)
        try leader.proposeMembership(Membership(voters: [1, 2]))
        #expect(leader.membership == Membership(voters: [1, 2]))
    }

    @Test func addingALearnerIsAllowedWhateverAnswers() throws {
        let leader = committedLeader(Membership(voters: [1, 2, 3]))
        electionTimeoutHearingOnly([2], at: leader)
        try leader.proposeMembership(Membership(voters: [1, 2, 3], learners: [4]))
        #expect(leader.membership.isLearner(4))
    }

    // MARK: A leader that removes itself

    @Test func leaderThatRemovedItselfLeadsUntilTheRemovalCommitsThenHandsOver() throws {
        let leader = committedLeader(Membership(voters: [1, 2, 3]))
        let placed = try leader.proposeMembership(Membership(voters: [2, 3]))
        _ = leader.takeMessages()
        #expect(leader.role == .leader)
        leader.step(message(from: 2, to: 1, term: leader.term, .appendResponse(AppendResponse(index: placed.index))))
        #expect(leader.role == .leader, "one of the two new voters is not a majority of them")
        leader.step(message(from: 3, to: 1, term: leader.term, .appendResponse(AppendResponse(index: placed.index))))
        #expect(leader.role == .follower)
        let handover = leader.takeMessages().filter(\.isTimeoutNow)
        #expect(handover.count == 1 && [2, 3].contains(handover.first?.to ?? 0), "an up-to-date voter is told to campaign")
        leader.tick(times: 100)
        #expect(leader.takeMessages().allSatisfy { $0.preVoteRequest == nil && $0.voteRequest == nil }, "it never campaigns again")
    }

    // MARK: Durability of the leader's own copy

    @Test func soleVoterTellsItsLearnersOfACommitOnlyAfterPersistingIt() throws {
        let leader = committedLeader(Membership(voters: [1], learners: [2]))
        let placed = try leader.propose([1])
        #expect(leader.log.committed == placed.index, "a sole voter commits alone")
        let ready = leader.ready()
        let commits = ready.messages.compactMap(\.appendRequest).map(\.commit)
        #expect(commits.contains(placed.index), "fixture: the learner is told of the commit")
        #expect(!ready.canSendBeforePersisting, "the learner would hear of a commit the leader may still lose in a crash")
        leader.memoryStorage.append(ready.entries)
        leader.advance(ready)
    }
}
