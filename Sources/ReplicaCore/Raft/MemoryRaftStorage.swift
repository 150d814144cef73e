/// A `RaftStorage` kept in memory, used by tests and the simulator. It plays
/// the role of the disk: in the simulator a crashed replica restarts from
/// exactly what was written here.
///
/// Like etcd's MemoryStorage, `log[0]` is a placeholder for the entry the
/// snapshot ends at, so the term at `firstIndex() - 1` is always known.
public final class MemoryRaftStorage: RaftStorage {
    private var hardState: HardState
    private var currentSnapshot: Snapshot
    private var log: [Entry]

    public init() {
        hardState = HardState()
        currentSnapshot = .empty
        log = [Entry(term: 0, index: 0)]
    }

    private var offset: LogIndex { log[0].index }

    /// An independent copy: what a disk holds at one instant, for the simulator's crashes.
    public func copy() -> MemoryRaftStorage {
        let copy = MemoryRaftStorage()
        copy.hardState = hardState
        copy.currentSnapshot = currentSnapshot
        copy.log = log
        return copy
    }

    // MARK: Reads (used by Raft)

    public func initialState() -> HardState { hardState }

    public func entries(in range: Range<LogIndex>, maxBytes: Int) throws(RaftStorageError) -> [Entry] {
        guard range.lowerBound > offset else { throw .compacted }
        guard range.upperBound <= lastIndex() + 1 else { throw .unavailable }
        let start = offset.distance(to: range.lowerBound)
        let end = offset.distance(to: range.upperBound)
        var result: [Entry] = []
        var byteCount = 0
        for position in start..<end {
            let entry = log[position]
            byteCount += entry.byteCount
            if !result.isEmpty && byteCount > maxBytes { break }
            result.append(entry)
        }
        return result
    }

    public func term(at index: LogIndex) throws(RaftStorageError) -> Term {
        guard index >= offset else { throw .compacted }
        guard index <= lastIndex() else { throw .unavailable }
        return log[offset.distance(to: index)].term
    }

    public func firstIndex() -> LogIndex { offset + 1 }

    public func lastIndex() -> LogIndex { offset + UInt64(log.count - 1) }

    public func snapshot() -> Snapshot { currentSnapshot }

    // MARK: Writes (done by the application)

    /// Saves the hard state of a `Ready`.
    public func setHardState(_ state: HardState) {
        hardState = state
    }

    /// Appends the entries of a `Ready`, first discarding any stored entries at
    /// or after the first new index: a new leader may have overwritten them.
    public func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        guard first.index <= lastIndex() + 1 else { return invariantFailure("append would leave a gap in the log") }
        let kept = entries.drop { $0.index <= offset }
        guard let firstKept = kept.first else { return }
        log.removeSubrange(offset.distance(to: firstKept.index)...)
        log.append(contentsOf: kept)
    }

    /// Installs a snapshot received from the leader, replacing the whole log.
    public func applySnapshot(_ snapshot: Snapshot) throws(RaftStorageError) {
        guard snapshot.metadata.index >= currentSnapshot.metadata.index else { throw .snapshotOutOfDate }
        currentSnapshot = snapshot
        log = [Entry(term: snapshot.metadata.term, index: snapshot.metadata.index)]
    }

    /// Records the application's state at `index` (which it has applied) so
    /// the log before it can later be compacted.
    @discardableResult
    /// `membership` is the configuration in force at `index` (`RaftNode.membership(at:)`).
    public func createSnapshot(
        at index: LogIndex, data: [UInt8], membership: Membership = Membership()
    ) throws(RaftStorageError) -> Snapshot {
        guard index > currentSnapshot.metadata.index else { throw .snapshotOutOfDate }
        guard index <= lastIndex() else { throw .indexOutOfRange }
        let metadata = SnapshotMetadata(index: index, term: try term(at: index), membership: membership)
        currentSnapshot = Snapshot(metadata: metadata, data: data)
        return currentSnapshot
    }

    /// Drops entries up to and including `index`, which must be covered by the
    /// current snapshot so that lagging followers can still be caught up.
    public func compact(upTo index: LogIndex) throws(RaftStorageError) {
        guard index > offset else { return }
        guard index <= currentSnapshot.metadata.index else { throw .indexOutOfRange }
        log.removeSubrange(0..<offset.distance(to: index))
    }
}
