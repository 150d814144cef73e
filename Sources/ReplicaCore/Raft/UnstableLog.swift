/// The tail of the log that is not yet durable: entries (and possibly a
/// snapshot from the leader) that the next `Ready` hands to the application to
/// persist. Once `RaftNode.advance(_:)` confirms the write they leave this
/// buffer and are read from `RaftStorage` instead.
struct UnstableLog {
    /// A snapshot received from the leader and not yet installed by the application.
    var snapshot: Snapshot?
    /// Entries at `offset`, `offset + 1`, and so on.
    var entries: [Entry] = []
    /// The index of `entries[0]`, or of the next entry when `entries` is empty.
    var offset: LogIndex

    init(offset: LogIndex) {
        self.offset = offset
    }

    /// The first index of the log, known here only while a snapshot is pending.
    var firstIndexIfKnown: LogIndex? {
        snapshot.map { $0.metadata.index + 1 }
    }

    var lastIndexIfKnown: LogIndex? {
        if !entries.isEmpty { return offset + UInt64(entries.count - 1) }
        return snapshot?.metadata.index
    }

    func term(at index: LogIndex) -> Term? {
        if index < offset {
            guard let snapshot, snapshot.metadata.index == index else { return nil }
            return snapshot.metadata.term
        }
        guard let last = lastIndexIfKnown, index <= last else { return nil }
        return entries[offset.distance(to: index)].term
    }

    /// Forgets entries up to `index` now that they are durable. The term check
    /// skips the call if the entries were replaced after the `Ready` was taken.
    mutating func markStable(upTo index: LogIndex, term: Term) {
        guard index >= offset, self.term(at: index) == term else { return }
        entries.removeFirst(offset.distance(to: index) + 1)
        offset = index + 1
    }

    mutating func markSnapshotStable(at index: LogIndex) {
        if snapshot?.metadata.index == index {
            snapshot = nil
        }
    }

    mutating func restore(_ newSnapshot: Snapshot) {
        offset = newSnapshot.metadata.index + 1
        entries = []
        snapshot = newSnapshot
    }

    /// Appends `newEntries`, first cutting off any entries at or after the first new index.
    mutating func truncateAndAppend(_ newEntries: [Entry]) {
        guard let first = newEntries.first?.index else { return }
        let end = offset + UInt64(entries.count)
        if first == end {
            entries.append(contentsOf: newEntries)
        } else if first <= offset {
            // The new entries replace part of the durable log too; the
            // application overwrites storage from `first` on when it persists them.
            offset = first
            entries = newEntries
        } else {
            entries.removeSubrange(offset.distance(to: first)...)
            entries.append(contentsOf: newEntries)
        }
    }

    mutating func appendAtEnd(_ entry: Entry) {
        guard entry.index == offset + UInt64(entries.count) else {
            return invariantFailure("unstable append out of order")
        }
        entries.append(entry)
    }

    /// Entries in `range`, which must lie within `offset ... last + 1`.
    func slice(_ range: Range<LogIndex>) -> ArraySlice<Entry> {
        guard range.lowerBound >= offset, offset.distance(to: range.upperBound) <= entries.count else {
            invariantFailure("unstable slice \(range) outside \(offset) ..< \(offset + UInt64(entries.count))")
            return entries[0..<0]
        }
        let start = offset.distance(to: range.lowerBound)
        let end = offset.distance(to: range.upperBound)
        return entries[start..<end]
    }
}
