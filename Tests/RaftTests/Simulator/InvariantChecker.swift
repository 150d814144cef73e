@testable import ReplicaCore

/// Checks Raft's safety properties as the simulation runs. Violations are
/// collected as sentences; the test reports them with the seed and trace.
struct InvariantChecker {
    struct EntryKey: Hashable {
        var index: LogIndex
        var term: Term
    }

    struct EntryFingerprint: Equatable {
        var previousTerm: Term?
        var data: [UInt8]
    }

    private(set) var violations: [String] = []
    /// Election Safety: the one leader seen in each term.
    private var leaderOfTerm: [Term: NodeID] = [:]
    /// Log Matching: every (index, term) ever persisted has one content and
    /// one predecessor term. By induction two logs that share an (index,
    /// term) then share every entry before it.
    private var persistedEntries: [EntryKey: EntryFingerprint] = [:]
    /// State Machine Safety: the entry applied at each index, and the state digest after it.
    private(set) var appliedEntries: [LogIndex: Entry] = [:]
    private var digestAfter: [LogIndex: UInt64] = [:]
    /// The highest index applied anywhere: everything up to it is committed
    /// and has been observed by some client.
    private(set) var highestAppliedIndex: LogIndex = 0
    struct ReadKey: Hashable {
        var node: NodeID
        var context: UInt64
    }

    /// Reads in flight: the highest applied index when each was issued.
    private var readFloors: [ReadKey: LogIndex] = [:]
    /// Proposals some replica applied, by identifier, with their index.
    private(set) var acknowledgedProposals: [UInt64: LogIndex] = [:]

    var isViolated: Bool { !violations.isEmpty }

    mutating func fail(_ message: String) {
        if violations.count < 20 { violations.append(message) }
    }

    /// Per replica, across restarts: the highest term and commit index seen.
    private var highestTerm: [NodeID: Term] = [:]
    private var highestCommit: [NodeID: LogIndex] = [:]

    /// Term and commit index never go back on a replica, even across a crash:
    /// both are persisted before anything that depends on them is sent.
    mutating func observeDurableState(of node: NodeID, term: Term, commit: LogIndex) {
        if let known = highestTerm[node], term < known {
            fail("Durability: \(node) went back from \(known) to \(term)")
        }
        if let known = highestCommit[node], commit < known {
            fail("Durability: \(node) commit index went back from \(known) to \(commit)")
        }
        highestTerm[node] = term
        highestCommit[node] = commit
    }

    mutating func observeLeader(_ node: NodeID, term: Term) {
        if let existing = leaderOfTerm[term], existing != node {
            fail("Election Safety: \(existing) and \(node) both led \(term)")
        }
        leaderOfTerm[term] = node
    }

    mutating func observePersisted(_ entries: [Entry], on node: NodeID, storage: MemoryRaftStorage) {
        for entry in entries {
            let previousTerm = entry.index > 0 ? try? storage.term(at: entry.index - 1) : nil
            let key = EntryKey(index: entry.index, term: entry.term)
            let fingerprint = EntryFingerprint(previousTerm: previousTerm, data: entry.data)
            guard let known = persistedEntries[key] else {
                persistedEntries[key] = fingerprint
                continue
            }
            if known.data != entry.data {
                fail("Log Matching: \(node) stored different data at \(entry.index) \(entry.term)")
            }
            if let previousTerm, let knownPrevious = known.previousTerm, previousTerm != knownPrevious {
                fail("Log Matching: \(node) has \(previousTerm) before \(entry.index) \(entry.term), others \(knownPrevious)")
            }
        }
    }

    /// Leader Completeness: a new leader's log holds every entry applied anywhere.
    mutating func checkLeaderCompleteness(_ node: NodeID, term: Term, storage: MemoryRaftStorage) {
        let firstIndex = storage.firstIndex()
        let lastIndex = storage.lastIndex()
        for (index, entry) in appliedEntries where index >= firstIndex && entry.term <= term {
            guard index <= lastIndex, let storedTerm = try? storage.term(at: index) else {
                fail("Leader Completeness: leader \(node) of \(term) lacks committed \(index)")
                continue
            }
            if storedTerm != entry.term {
                fail("Leader Completeness: leader \(node) of \(term) has \(storedTerm) at committed \(index), not \(entry.term)")
            }
        }
    }

    mutating func observeApplied(_ entry: Entry, on node: NodeID, digest: UInt64) {
        if let known = appliedEntries[entry.index] {
            if known != entry {
                fail("State Machine Safety: \(node) applied \(entry.term) at \(entry.index), another replica \(known.term)")
            }
            if digestAfter[entry.index] != digest {
                fail("State Machine Safety: \(node) state differs after \(entry.index)")
            }
        } else {
            appliedEntries[entry.index] = entry
            digestAfter[entry.index] = digest
        }
        highestAppliedIndex = max(highestAppliedIndex, entry.index)
        if let proposalID = SimulatedStateMachine.proposalID(of: entry.data), acknowledgedProposals[proposalID] == nil {
            acknowledgedProposals[proposalID] = entry.index
        }
    }

    /// Configurations follow one another one voter at a time, so that a majority of the
    /// old and a majority of the new always share a voter.
    mutating func observeMembershipApplied(
        _ membership: Membership, after previous: Membership, at index: LogIndex, on node: NodeID
    ) {
        if !previous.isEmpty && !previous.majoritiesOverlap(with: membership) {
            fail("Membership: \(node) applied \(membership) at \(index) after \(previous): two majorities need not overlap")
        }
        if membership.voters.isEmpty {
            fail("Membership: \(node) applied a configuration without voters at \(index)")
        }
    }

    mutating func observeSnapshotInstalled(_ snapshot: Snapshot, on node: NodeID, digest: UInt64) {
        if let known = digestAfter[snapshot.metadata.index], known != digest {
            fail("State Machine Safety: \(node) installed a snapshot at \(snapshot.metadata.index) with a different state")
        }
        if let known = appliedEntries[snapshot.metadata.index], known.term != snapshot.metadata.term {
            fail("State Machine Safety: snapshot at \(snapshot.metadata.index) has \(snapshot.metadata.term), applied entry \(known.term)")
        }
    }

    mutating func observeReadRequested(context: UInt64, on node: NodeID) {
        readFloors[ReadKey(node: node, context: context)] = highestAppliedIndex
    }

    /// Linearizable reads: a read answered with index i must not miss any
    /// write that was applied (and so visible to some client) before it was issued.
    mutating func observeReadAnswered(_ state: ReadState, on node: NodeID) {
        guard let floor = readFloors.removeValue(forKey: ReadKey(node: node, context: state.context)) else { return }
        if state.index < floor {
            fail("Linearizability: read \(state.context) at \(node) answered \(state.index) below \(floor)")
        }
    }
}
