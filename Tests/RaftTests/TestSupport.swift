@testable import ReplicaCore

/// Builds a replica on fresh (or given) storage for the single-node unit tests.
func makeNode(
    _ id: NodeID, voters: [NodeID] = [1, 2, 3], storage: MemoryRaftStorage = MemoryRaftStorage(),
    seed: UInt64 = 1, configure: (inout RaftConfig) -> Void = { _ in }
) -> RaftNode {
    var config = RaftConfig(id: id, voters: voters, randomSeed: seed)
    config.electionTick = 10
    config.heartbeatTick = 1
    configure(&config)
    do {
        return try RaftNode(config: config, storage: storage)
    } catch {
        preconditionFailure("node setup failed: \(error)")
    }
}

/// Storage that already holds `terms.count` entries, the i-th of term terms[i].
func storage(withTerms terms: [UInt64], hardState: HardState? = nil) -> MemoryRaftStorage {
    let storage = MemoryRaftStorage()
    storage.append(terms.enumerated().map { Entry(term: Term($0.element), index: LogIndex(UInt64($0.offset + 1))) })
    if let hardState {
        storage.setHardState(hardState)
    }
    return storage
}

extension RaftNode {
    var memoryStorage: MemoryRaftStorage { log.storage as! MemoryRaftStorage }

    /// Runs the caller's loop once: persist, then advance. Returns the Ready.
    @discardableResult
    func processReady() -> Ready {
        let ready = ready()
        if let snapshot = ready.snapshot {
            try! memoryStorage.applySnapshot(snapshot)
        }
        memoryStorage.append(ready.entries)
        if let hardState = ready.hardState {
            memoryStorage.setHardState(hardState)
        }
        advance(ready)
        return ready
    }

    /// Processes every pending Ready and returns all messages they held.
    func takeMessages() -> [RaftMessage] {
        var messages: [RaftMessage] = []
        while hasReady {
            messages += processReady().messages
        }
        return messages
    }

    /// Processes every pending Ready and returns the committed entries they held.
    func takeCommittedEntries() -> [Entry] {
        var entries: [Entry] = []
        while hasReady {
            entries += processReady().committedEntries
        }
        return entries
    }

    /// Makes this replica leader of the next term by granting it every vote.
    func becomeLeaderForTest() {
        campaign()
        for _ in 0..<2 {
            for message in takeMessages() {
                switch message.kind {
                case .preVoteRequest:
                    step(RaftMessage(from: message.to, to: id, term: message.term, kind: .preVoteResponse(VoteResponse(granted: true))))
                case .voteRequest:
                    step(RaftMessage(from: message.to, to: id, term: message.term, kind: .voteResponse(VoteResponse(granted: true))))
                default:
                    break
                }
            }
        }
        precondition(role == .leader, "test leader election failed")
    }

    /// Acknowledges everything this leader sent so far from every follower.
    func acknowledgeAll(upTo index: LogIndex) {
        for peer in peers {
            step(RaftMessage(from: peer, to: id, term: term, kind: .appendResponse(AppendResponse(index: index))))
        }
    }
}

func message(
    from: NodeID, to: NodeID, term: Term, _ kind: RaftMessage.Kind
) -> RaftMessage {
    RaftMessage(from: from, to: to, term: term, kind: kind)
}

func appendMessage(
    from: NodeID = 2, to: NodeID = 1, term: Term, previous: (LogIndex, Term), entries: [Entry] = [], commit: LogIndex = 0
) -> RaftMessage {
    RaftMessage(
        from: from, to: to, term: term,
        kind: .append(AppendRequest(previousLogIndex: previous.0, previousLogTerm: previous.1, entries: entries, commit: commit)))
}

func entries(_ terms: [(index: UInt64, term: UInt64)]) -> [Entry] {
    terms.map { Entry(term: Term($0.term), index: LogIndex($0.index)) }
}
