/// Leader election (Raft §5.2) with PreVote (thesis §9.6).
extension RaftNode {
    /// How a campaign starts.
    enum CampaignKind {
        /// Ask first whether an election could be won, without raising the term.
        case preElection
        /// A real election at the next term.
        case election
        /// A real election ordered by the leader (`timeoutNow`): skips the
        /// pre-election and overrides voters' leader lease.
        case leadershipTransfer
    }

    enum VoteTally {
        case pending
        case won
        case lost
    }

    func tickElection() {
        electionElapsed += 1
        // A replica that may not campaign lets its timeout run on, so that once it stops
        // hearing from a leader it stops holding the lease and grants (pre-)votes.
        guard electionElapsed >= randomizedElectionTimeout, mayCampaign else { return }
        electionElapsed = 0
        startElection()
    }

    /// Starts a (pre-)election unless this replica already leads.
    func startElection() {
        guard role != .leader else { return }
        campaign(config.preVote ? .preElection : .election)
    }

    func campaign(_ kind: CampaignKind) {
        guard mayCampaign else { return }
        let campaignTerm: Term
        if kind == .preElection {
            becomePreCandidate()
            campaignTerm = term.next
        } else {
            becomeCandidate()
            campaignTerm = term
        }
        if recordVote(from: id, granted: true) == .won {
            // A single-voter cluster wins at once.
            winElection()
            return
        }
        let request = VoteRequest(
            lastLogIndex: log.lastIndex(), lastLogTerm: log.lastTerm(),
            isLeadershipTransfer: kind == .leadershipTransfer)
        for peer in peers {
            let kind: RaftMessage.Kind =
                kind == .preElection ? .preVoteRequest(request) : .voteRequest(request)
            send(kind, to: peer, term: campaignTerm)
        }
    }

    /// Voters campaign; learners and replicas outside the configuration do not. One
    /// exception keeps a cluster live: a replica whose removal is in its log but not
    /// committed may be the only one holding that entry, so it may still campaign. Votes
    /// are counted in the latest configuration, where it is no voter, and once elected it
    /// commits the removal and steps down (`stepDownIfRemoved`).
    var mayCampaign: Bool {
        membership.isVoter(id) || log.membership(at: log.committed).isVoter(id)
    }

    func recordVote(from voter: NodeID, granted: Bool) -> VoteTally {
        let membership = membership
        // Only the votes of this replica's own configuration count.
        if votes[voter] == nil && membership.isVoter(voter) {
            votes[voter] = granted
        }
        let grantedCount = votes.values.filter { $0 }.count
        let rejectedCount = votes.count - grantedCount
        if grantedCount >= membership.quorum { return .won }
        if rejectedCount > membership.voters.count - membership.quorum { return .lost }
        return .pending
    }

    private func winElection() {
        if role == .preCandidate {
            campaign(.election)
        } else {
            becomeLeader()
        }
    }

    /// Raft §5.2 and §5.4.1: one vote per term, only for an up-to-date log.
    func handleVoteRequest(_ request: VoteRequest, from candidate: NodeID, term requestTerm: Term, isPreVote: Bool) {
        let canVote =
            vote == candidate
            || (vote == nil && leader == nil)
            || (isPreVote && requestTerm > term)
        // A replica that knows no configuration yet (a new or wiped one) never votes.
        let granted =
            canVote && !membership.isEmpty
            && log.isUpToDate(lastIndex: request.lastLogIndex, lastTerm: request.lastLogTerm)
        let response = VoteResponse(granted: granted)
        // A grant answers in the candidate's term; a refusal in ours, so a
        // stale candidate learns the newer term.
        let responseTerm = granted ? requestTerm : term
        send(isPreVote ? .preVoteResponse(response) : .voteResponse(response), to: candidate, term: responseTerm)
        if granted && !isPreVote {
            invariant(vote == nil || vote == candidate, "voting twice in one term")
            electionElapsed = 0
            vote = candidate
        }
    }

    func stepCandidate(_ message: RaftMessage) {
        switch message.kind {
        case .append(let request):
            becomeFollower(term: message.term, leader: message.from)
            handleAppend(request, from: message.from)
        case .heartbeat(let heartbeat):
            becomeFollower(term: message.term, leader: message.from)
            handleHeartbeat(heartbeat, from: message.from)
        case .snapshotChunk(let chunk):
            becomeFollower(term: message.term, leader: message.from)
            handleSnapshotChunk(chunk, from: message.from)
        case .voteResponse(let response) where role == .candidate:
            handleVoteResponse(response, from: message.from)
        case .preVoteResponse(let response) where role == .preCandidate:
            handleVoteResponse(response, from: message.from)
        default:
            break
        }
    }

    private func handleVoteResponse(_ response: VoteResponse, from voter: NodeID) {
        switch recordVote(from: voter, granted: response.granted) {
        case .won: winElection()
        case .lost: becomeFollower(term: term, leader: nil)
        case .pending: break
        }
    }
}
