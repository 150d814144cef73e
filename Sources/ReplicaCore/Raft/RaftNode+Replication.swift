/// Log replication (Raft §5.3) with etcd's flow control: a follower is probed
/// one append at a time until its position is known, then appends are
/// pipelined up to the inflight bounds of `RaftConfig`.
extension RaftNode {
    /// Appends a client command. Only the leader accepts proposals; the entry
    /// is committed once a quorum stores it, and then appears in a `Ready`'s
    /// `committedEntries`. Returns where it was placed: if a different entry
    /// is later committed at that index, the proposal was lost.
    public func propose(_ data: [UInt8]) throws(RaftRequestError) -> (index: LogIndex, term: Term) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        guard leadershipTransferTarget == nil else { throw .leadershipTransferInProgress }
        if uncommittedBytes > 0 && uncommittedBytes + data.count > config.maxUncommittedEntriesBytes {
            throw .proposalDropped
        }
        let index = appendAsLeader(data)
        uncommittedBytes += data.count
        needsBroadcast = true
        return (index, term)
    }

    /// Appends one entry of the leader's term at the end of its log and counts
    /// it as stored by the leader. Returns its index.
    @discardableResult
    func appendAsLeader(_ data: [UInt8]) -> LogIndex {
        appendEntryAsLeader(Entry(term: term, index: log.lastIndex() + 1, data: data))
    }

    @discardableResult
    func appendEntryAsLeader(_ entry: Entry) -> LogIndex {
        // The leader's append-only property (Raft §5.3): `appendAtEnd` checks
        // that nothing is overwritten.
        let newLast = log.appendAtEnd(entry)
        // Its own copy counts at once: followers' acknowledgements are stepped only after this
        // Ready is persisted (see `Ready`), so a commit never rests on a copy that is not durable.
        _ = progress[id]?.update(acknowledged: newLast)
        if entry.kind == .membership {
            refreshMembership()
        }
        if isSoleVoter {
            // A sole voter commits alone; its `Ready` then sends nothing before persisting.
            commitIfQuorum()
        }
        return newLast
    }

    // MARK: Leader: sending

    /// Sends appends to every follower that is not paused: at least one
    /// (carrying the commit index), then as many as its pipeline allows.
    func broadcastAppend() {
        needsBroadcast = false
        for peer in peers where sendAppend(to: peer, evenIfEmpty: true) {
            fillPipeline(to: peer)
        }
    }

    /// Sends further appends to `peer` until it is paused or up to date.
    /// Bounded by the inflight limit, which pauses the follower when reached.
    func fillPipeline(to peer: NodeID) {
        for _ in 0..<config.maxInflightMessages where !sendAppend(to: peer, evenIfEmpty: false) {
            break
        }
    }

    /// Sends the next append to `peer` if its flow control allows, falling
    /// back to a snapshot when the entries it needs were compacted. Returns
    /// whether a message was sent.
    @discardableResult
    func sendAppend(to peer: NodeID, evenIfEmpty: Bool) -> Bool {
        guard let peerProgress = progress[peer], !peerProgress.isPaused else { return false }
        let previousIndex = peerProgress.next - 1
        let lastIndex = log.lastIndex()
        guard let previousTerm = log.term(at: previousIndex),
            let entries = log.entries(
                in: peerProgress.next..<(lastIndex + 1),
                maxBytes: config.maxBytesPerMessage, maxCount: config.maxEntriesPerMessage)
        else {
            return startSnapshot(to: peer)
        }
        if entries.isEmpty && !evenIfEmpty { return false }
        let bytes = entries.reduce(0) { $0 + $1.byteCount }
        peerProgress.recordSent(entryCount: entries.count, bytes: bytes)
        let request = AppendRequest(
            previousLogIndex: previousIndex, previousLogTerm: previousTerm,
            entries: entries, commit: log.committed)
        send(.append(request), to: peer)
        return true
    }

    func broadcastHeartbeat() {
        let sequence = pendingReads.newestSequence
        for peer in peers {
            sendHeartbeat(to: peer, readSequence: sequence)
        }
    }

    private func sendHeartbeat(to peer: NodeID, readSequence: UInt64?) {
        // Never tell a follower to commit beyond what it is known to hold:
        // it may hold a different, uncommitted entry there.
        let commit = min(progress[peer]?.match ?? 0, log.committed)
        send(.heartbeat(Heartbeat(commit: commit, readSequence: readSequence)), to: peer)
    }

    // MARK: Leader: time

    func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTick {
            electionElapsed = 0
            if config.checkQuorum && !checkQuorumActive() {
                becomeFollower(term: term, leader: nil)
                return
            }
            // An unfinished transfer is abandoned after an election timeout.
            leadershipTransferTarget = nil
        }
        if heartbeatElapsed >= config.heartbeatTick {
            heartbeatElapsed = 0
            broadcastHeartbeat()
        }
    }

    /// CheckQuorum: whether a quorum was heard from since the last check.
    /// Clears the activity marks for the next period.
    private func checkQuorumActive() -> Bool {
        var activeCount = 0
        let membership = membership
        for voter in membership.voters where voter == id || progress[voter]?.isRecentlyActive == true {
            activeCount += 1
        }
        for peer in peers {
            progress[peer]?.isRecentlyActive = false
        }
        return activeCount >= membership.quorum
    }

    // MARK: Leader: messages

    private func noteAnswer(from peer: NodeID) {
        progress[peer]?.isRecentlyActive = true
        progress[peer]?.answeredAt = ticksElapsed
    }

    /// Whether `voter` answered this leader within the last election timeout (the leader
    /// counts itself).
    func isReachable(_ voter: NodeID) -> Bool {
        guard voter != id else { return true }
        guard let answeredAt = progress[voter]?.answeredAt else { return false }
        return ticksElapsed - answeredAt < config.electionTick
    }

    func stepLeader(_ message: RaftMessage) {
        let peer = message.from
        switch message.kind {
        case .appendResponse(let response):
            noteAnswer(from: peer)
            handleAppendResponse(response, from: peer)
        case .heartbeatResponse(let response):
            noteAnswer(from: peer)
            handleHeartbeatResponse(response, from: peer)
        case .snapshotResponse(let response):
            noteAnswer(from: peer)
            handleSnapshotResponse(response, from: peer)
        case .readIndex(let request):
            handleReadIndexRequest(context: request.context, from: peer)
        case .transferLeader(let request):
            handleTransferRequest(to: request.target)
        default:
            break
        }
    }

    private func handleAppendResponse(_ response: AppendResponse, from peer: NodeID) {
        guard let peerProgress = progress[peer] else { return }
        if let rejection = response.rejection {
            handleRejection(rejection, rejectedIndex: response.index, from: peer)
            return
        }
        let wasPaused = peerProgress.isPaused
        let matchesProbe = peerProgress.match == response.index && peerProgress.state == .probe
        let updated = peerProgress.update(acknowledged: response.index)
        guard updated || matchesProbe else { return }
        resumeAfterAcknowledgement(of: peer, index: response.index)
        if commitIfQuorum() {
            needsBroadcast = true
        } else if wasPaused {
            sendAppend(to: peer, evenIfEmpty: false)
        }
        fillPipeline(to: peer)
        if peer == leadershipTransferTarget && progress[peer]?.match == log.lastIndex() {
            send(.timeoutNow, to: peer)
        }
    }

    private func resumeAfterAcknowledgement(of peer: NodeID, index: LogIndex) {
        guard let peerProgress = progress[peer] else { return }
        switch peerProgress.state {
        case .probe:
            peerProgress.becomeReplicate()
        case .snapshot:
            if peerProgress.match + 1 >= log.firstIndex() {
                peerProgress.becomeProbe()
                peerProgress.becomeReplicate()
            }
        case .replicate:
            peerProgress.inflights.free(upTo: index)
        }
    }

    private func handleRejection(_ rejection: AppendRejection, rejectedIndex: LogIndex, from peer: NodeID) {
        // Fast backtracking: jump over every entry of terms the follower cannot match.
        var nextProbe = rejection.hintIndex
        if rejection.hintTerm > 0 {
            nextProbe = log.lastIndex(atOrBelow: rejection.hintIndex, withTermAtMost: rejection.hintTerm).index
        }
        guard progress[peer]?.backOff(rejected: rejectedIndex, matchHint: nextProbe) == true else { return }
        if progress[peer]?.state == .replicate {
            progress[peer]?.becomeProbe()
        }
        sendAppend(to: peer, evenIfEmpty: true)
    }

    private func handleHeartbeatResponse(_ response: HeartbeatResponse, from peer: NodeID) {
        guard let peerProgress = progress[peer] else { return }
        peerProgress.isProbeSent = false
        if peerProgress.state == .replicate && peerProgress.inflights.isFull {
            peerProgress.inflights.freeFirst()
        }
        if peerProgress.state == .snapshot {
            noteSnapshotHeartbeat(from: peer)
        } else if peerProgress.match < log.lastIndex() || peerProgress.state == .probe {
            sendAppend(to: peer, evenIfEmpty: true)
        }
        if let sequence = response.readSequence {
            acknowledgeRead(sequence: sequence, from: peer)
        }
    }

    /// Commits the highest index stored on a quorum, if it is of this term.
    @discardableResult
    func commitIfQuorum() -> Bool {
        matchScratch.removeAll(keepingCapacity: true)
        let membership = membership
        // Only voters count; a leader that removed itself counts none of its own copies.
        for voter in membership.voters {
            matchScratch.append(progress[voter]?.match ?? 0)
        }
        matchScratch.sort(by: >)
        let quorumIndex = matchScratch[membership.quorum - 1]
        guard log.commitIfFromTerm(quorumIndex, term: term) else { return false }
        releaseReadsAwaitingFirstCommit()
        stepDownIfRemoved()
        return true
    }

    // MARK: Follower

    func stepFollower(_ message: RaftMessage) {
        switch message.kind {
        case .append(let request):
            electionElapsed = 0
            leader = message.from
            ticksSinceLeaderContact = 0
            handleAppend(request, from: message.from)
        case .heartbeat(let heartbeat):
            electionElapsed = 0
            leader = message.from
            ticksSinceLeaderContact = 0
            handleHeartbeat(heartbeat, from: message.from)
        case .snapshotChunk(let chunk):
            electionElapsed = 0
            leader = message.from
            ticksSinceLeaderContact = 0
            handleSnapshotChunk(chunk, from: message.from)
        case .readIndexResponse(let response):
            noteReadAnswered(context: response.context)
            readStates.append(ReadState(context: response.context, index: response.index))
        case .timeoutNow:
            campaign(.leadershipTransfer)
        case .transferLeader(let request):
            if let leader {
                send(.transferLeader(request), to: leader, term: 0)
            }
        default:
            break
        }
    }

    func handleAppend(_ request: AppendRequest, from sender: NodeID) {
        invariant(role == .follower, "only a follower accepts entries from a leader")
        if request.previousLogIndex < log.committed {
            // Everything up to the commit index already matches: say so.
            send(.appendResponse(AppendResponse(index: log.committed)), to: sender)
            return
        }
        if let lastMatched = log.appendIfMatching(
            previousIndex: request.previousLogIndex, previousTerm: request.previousLogTerm,
            leaderCommit: request.commit, entries: request.entries)
        {
            refreshMembership()
            send(.appendResponse(AppendResponse(index: lastMatched)), to: sender)
            return
        }
        let probeFrom = min(request.previousLogIndex, log.lastIndex())
        let hint = log.lastIndex(atOrBelow: probeFrom, withTermAtMost: request.previousLogTerm)
        let rejection = AppendRejection(hintIndex: hint.index, hintTerm: hint.term ?? 0)
        send(.appendResponse(AppendResponse(index: request.previousLogIndex, rejection: rejection)), to: sender)
    }

    func handleHeartbeat(_ heartbeat: Heartbeat, from sender: NodeID) {
        log.commit(to: heartbeat.commit)
        send(.heartbeatResponse(HeartbeatResponse(readSequence: heartbeat.readSequence)), to: sender)
    }
}
