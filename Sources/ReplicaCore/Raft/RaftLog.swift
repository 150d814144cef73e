/// The replica's view of the whole log: durable entries in `RaftStorage`
/// followed by the `UnstableLog` tail, plus the commit and applied indices.
struct RaftLog {
    let storage: any RaftStorage
    var unstable: UnstableLog
    /// The highest index known to be stored on a quorum. Never decreases.
    private(set) var committed: LogIndex {
        didSet { invariant(committed >= oldValue, "commit index went back") }
    }
    /// The highest index the application has applied. Never above `committed`.
    private(set) var applied: LogIndex
    /// The highest index handed out for applying but not yet acknowledged by `advance`.
    private(set) var applying: LogIndex
    /// Every configuration the log holds, oldest first: the snapshot's (or the bootstrap
    /// voters') at the snapshot's index, then one per membership entry. A replica acts on
    /// the last, committed or not (thesis §4.1), so truncating the log can bring back an older one.
    private(set) var memberships: [(index: LogIndex, membership: Membership)]
    /// Used when neither the snapshot nor the log names a configuration.
    private let bootstrapMembership: Membership

    init(storage: any RaftStorage, bootstrapMembership: Membership = Membership()) {
        self.storage = storage
        self.bootstrapMembership = bootstrapMembership
        let first = Self.read { try storage.firstIndex() }
        let last = Self.read { try storage.lastIndex() }
        unstable = UnstableLog(offset: last + 1)
        committed = first - 1
        applied = first - 1
        applying = first - 1
        let snapshotMembership = Self.read { try storage.snapshot() }.metadata.membership
        memberships = [(first - 1, snapshotMembership.isEmpty ? bootstrapMembership : snapshotMembership)]
        var next = first
        while next <= last {
            let batch = Self.read { try storage.entries(in: next..<(last + 1), maxBytes: 4 << 20) }
            noteMemberships(in: batch[...])
            next = (batch.last?.index ?? last) + 1
        }
    }

    /// The configuration in force: the last one in the log.
    var membership: Membership { memberships[memberships.count - 1].membership }
    /// Where that configuration was stored.
    var membershipIndex: LogIndex { memberships[memberships.count - 1].index }

    /// The configuration in force at `index`, as far back as the log remembers.
    func membership(at index: LogIndex) -> Membership {
        memberships.last { $0.index <= index }?.membership ?? memberships[0].membership
    }

    private mutating func noteMemberships(in entries: ArraySlice<Entry>) {
        for entry in entries where entry.kind == .membership {
            guard let membership = entry.membership else {
                invariantFailure("membership entry \(entry.index) does not decode")
                continue
            }
            memberships.append((entry.index, membership))
        }
    }

    /// Runs a storage read whose failure Raft cannot recover from.
    static func read<Value>(_ body: () throws -> Value) -> Value {
        do {
            return try body()
        } catch {
            fatalError("Raft storage read failed: \(error)")
        }
    }

    // MARK: Indices and terms

    func firstIndex() -> LogIndex {
        unstable.firstIndexIfKnown ?? Self.read { try storage.firstIndex() }
    }

    func lastIndex() -> LogIndex {
        unstable.lastIndexIfKnown ?? Self.read { try storage.lastIndex() }
    }

    /// The term at `index`, or nil when it was compacted or is beyond the log.
    func term(at index: LogIndex) -> Term? {
        let dummyIndex = firstIndex() - 1
        guard index >= dummyIndex, index <= lastIndex() else { return nil }
        if let term = unstable.term(at: index) { return term }
        do {
            return try storage.term(at: index)
        } catch RaftStorageError.compacted, RaftStorageError.unavailable {
            return nil
        } catch {
            fatalError("Raft storage read failed: \(error)")
        }
    }

    func lastTerm() -> Term {
        guard let term = term(at: lastIndex()) else {
            invariantFailure("term of the last index must be known")
            return 0
        }
        return term
    }

    func matchesTerm(at index: LogIndex, _ term: Term) -> Bool {
        self.term(at: index) == term
    }

    /// Raft §5.4.1: a voter grants only to candidates at least as up to date.
    func isUpToDate(lastIndex candidateIndex: LogIndex, lastTerm candidateTerm: Term) -> Bool {
        let ownTerm = lastTerm()
        return candidateTerm > ownTerm || (candidateTerm == ownTerm && candidateIndex >= lastIndex())
    }

    // MARK: Appending

    /// Appends entries at the end of the log or over an uncommitted suffix.
    /// Returns the new last index.
    @discardableResult
    mutating func append(_ entries: [Entry]) -> LogIndex {
        guard let first = entries.first else { return lastIndex() }
        invariant(first.index > committed, "a committed entry would be overwritten")
        unstable.truncateAndAppend(entries)
        // The base (the snapshot's configuration) sits at or below the commit index, so it stays.
        memberships.removeAll { $0.index >= first.index }
        noteMemberships(in: entries[...])
        return lastIndex()
    }

    /// Appends one entry right after the last one (the leader's path).
    mutating func appendAtEnd(_ entry: Entry) -> LogIndex {
        guard entry.index == lastIndex() + 1 else {
            invariantFailure("appending with a gap or over existing entries")
            return lastIndex()
        }
        unstable.appendAtEnd(entry)
        noteMemberships(in: [entry][...])
        return entry.index
    }

    /// The follower side of AppendEntries. Returns the last index now known to
    /// match the leader, or nil when `previousIndex`/`previousTerm` do not match.
    mutating func appendIfMatching(
        previousIndex: LogIndex, previousTerm: Term, leaderCommit: LogIndex, entries: [Entry]
    ) -> LogIndex? {
        guard matchesTerm(at: previousIndex, previousTerm) else { return nil }
        let lastNewIndex = previousIndex + UInt64(entries.count)
        if let conflict = firstConflict(in: entries) {
            invariant(conflict > committed, "entry conflicts with a committed entry")
            let start = previousIndex.distance(to: conflict) - 1
            append(Array(entries[start...]))
        }
        commit(to: min(leaderCommit, lastNewIndex))
        return lastNewIndex
    }

    /// The index of the first entry that is missing or has a different term locally.
    func firstConflict(in entries: [Entry]) -> LogIndex? {
        for entry in entries where !matchesTerm(at: entry.index, entry.term) {
            return entry.index
        }
        return nil
    }

    /// The largest index at or below `index` whose term is at most `term`,
    /// with that term: the hint that lets the leader skip a whole term of
    /// conflicting entries at once (etcd's findConflictByTerm).
    func lastIndex(atOrBelow index: LogIndex, withTermAtMost term: Term) -> (index: LogIndex, term: Term?) {
        var candidate = index
        let lowest = firstIndex() - 1
        while candidate >= lowest {
            guard let found = self.term(at: candidate) else { return (candidate, nil) }
            if found <= term { return (candidate, found) }
            if candidate == lowest { break }
            candidate = candidate - 1
        }
        return (candidate, nil)
    }

    // MARK: Reading entries

    /// Entries in `range`, at most `maxBytes` (but at least one) and at most
    /// `maxCount`, or nil when part of the range was compacted.
    func entries(in range: Range<LogIndex>, maxBytes: Int, maxCount: Int = .max) -> [Entry]? {
        guard !range.isEmpty else { return [] }
        guard range.lowerBound >= firstIndex() else { return nil }
        guard range.upperBound <= lastIndex() + 1 else {
            invariantFailure("entries requested beyond the log")
            return []
        }
        let upper = min(range.upperBound, range.lowerBound + UInt64(maxCount))
        var result: [Entry] = []
        if range.lowerBound < unstable.offset {
            let storedUpper = min(upper, unstable.offset)
            do {
                result = try storage.entries(in: range.lowerBound..<storedUpper, maxBytes: maxBytes)
            } catch RaftStorageError.compacted {
                return nil
            } catch {
                fatalError("Raft storage read failed: \(error)")
            }
            if result.count < range.lowerBound.distance(to: storedUpper) { return result }
        }
        if upper > unstable.offset {
            let start = max(range.lowerBound, unstable.offset)
            appendWithinLimit(unstable.slice(start..<upper), to: &result, maxBytes: maxBytes)
        }
        return result
    }

    private func appendWithinLimit(_ tail: ArraySlice<Entry>, to result: inout [Entry], maxBytes: Int) {
        var byteCount = result.reduce(0) { $0 + $1.byteCount }
        for entry in tail {
            byteCount += entry.byteCount
            if !result.isEmpty && byteCount > maxBytes { return }
            result.append(entry)
        }
    }

    /// The snapshot to send a follower that needs compacted entries.
    func snapshot() -> Snapshot {
        if let pending = unstable.snapshot { return pending }
        return Self.read { try storage.snapshot() }
    }

    // MARK: Commit and apply

    /// Commits up to `index` if that entry belongs to `term`. Raft §5.4.2 (the
    /// Figure 8 rule): a leader only commits by counting entries of its own term.
    mutating func commitIfFromTerm(_ index: LogIndex, term: Term) -> Bool {
        guard index > committed, self.term(at: index) == term else { return false }
        commit(to: index)
        return true
    }

    mutating func commit(to index: LogIndex) {
        guard index > committed else { return }
        // An operator must read this even in a release build (the hook traps with the message).
        guard index <= lastIndex() else {
            return invariantFailure(
                "commit index \(index) is beyond the last entry \(lastIndex()): this replica lost entries it had "
                    + "acknowledged (was its data directory wiped or truncated?). Restore its data or give it a new id.")
        }
        committed = index
    }

    /// Whether the application has committed entries it has not yet been handed.
    var hasEntriesToApply: Bool {
        unstable.snapshot == nil && applying < committed
    }

    /// The next batch of committed entries to apply. None while a snapshot is
    /// pending: the snapshot must be installed first.
    func entriesToApply(maxBytes: Int) -> [Entry] {
        guard hasEntriesToApply else { return [] }
        let start = max(applying + 1, firstIndex())
        guard start <= committed else { return [] }
        guard let result = entries(in: start..<(committed + 1), maxBytes: maxBytes) else {
            invariantFailure("committed entries to apply were compacted")
            return []
        }
        return result
    }

    mutating func markApplying(upTo index: LogIndex) {
        invariant(index <= committed, "handing out uncommitted entries")
        applying = max(applying, index)
    }

    mutating func markApplied(upTo index: LogIndex) {
        invariant(index <= committed, "applied index above commit index")
        guard index > applied else { return }
        applied = index
        applying = max(applying, index)
    }

    /// The restart path: the hard state's commit, then the application's applied index.
    mutating func restoreCommit(_ index: LogIndex) {
        invariant(index <= lastIndex(), "stored commit index beyond the stored log")
        commit(to: index)
    }

    // MARK: Snapshots and durability

    /// Replaces the log with a snapshot from the leader.
    mutating func restore(_ snapshot: Snapshot) {
        invariant(snapshot.metadata.index > committed, "restoring an older snapshot")
        unstable.restore(snapshot)
        committed = snapshot.metadata.index
        let membership = snapshot.metadata.membership
        memberships = [(snapshot.metadata.index, membership.isEmpty ? bootstrapMembership : membership)]
    }

    mutating func markStable(upTo index: LogIndex, term: Term) {
        unstable.markStable(upTo: index, term: term)
    }

    mutating func markSnapshotStable(at index: LogIndex) {
        unstable.markSnapshotStable(at: index)
    }
}
