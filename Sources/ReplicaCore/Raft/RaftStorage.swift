/// The durable log as Raft reads it.
///
/// Ownership: Raft only reads through this protocol. The application owns every
/// write: after taking a `Ready` it stores the snapshot, appends the entries and
/// sets the hard state (see `Ready`), and later creates snapshots and compacts
/// the log on its own schedule. Raft keeps entries that are not yet durable in
/// memory and never asks storage for them.
///
/// The log covers `firstIndex() - 1 ... lastIndex()`: the term of the entry just
/// before `firstIndex()` stays known (it is the snapshot's index and term), so
/// the entry after a snapshot can still be matched.
///
/// Errors: `RaftStorageError.compacted` and `.unavailable` are expected answers
/// that Raft handles. Any other error (a failed disk read) is treated as fatal,
/// as in etcd: a replica that cannot read its own log must stop, not guess.
public protocol RaftStorage: AnyObject {
    /// The hard state saved by the last `Ready`, read once when a node starts.
    func initialState() throws -> HardState
    /// Entries with indices in `range`, in order, stopping before the total
    /// `Entry.byteCount` exceeds `maxBytes` but always returning at least the
    /// first entry. Throws `.compacted` if `range` starts before `firstIndex()`.
    func entries(in range: Range<LogIndex>, maxBytes: Int) throws -> [Entry]
    /// The term of the entry at `index`, for `firstIndex() - 1 ... lastIndex()`.
    /// Throws `.compacted` below that range and `.unavailable` above it.
    func term(at index: LogIndex) throws -> Term
    /// The index of the first entry still held (the snapshot's index + 1).
    func firstIndex() throws -> LogIndex
    /// The index of the last entry held; `firstIndex() - 1` when empty.
    func lastIndex() throws -> LogIndex
    /// The most recent snapshot, sent to followers that need compacted entries.
    func snapshot() throws -> Snapshot
}

/// The expected failures of a `RaftStorage` read.
public enum RaftStorageError: Error, Hashable, Sendable {
    /// The requested index was compacted into a snapshot.
    case compacted
    /// The requested index is after the last stored entry.
    case unavailable
    /// A snapshot older than the one already held was offered.
    case snapshotOutOfDate
    /// A snapshot or compaction was asked for beyond what the log holds.
    case indexOutOfRange
}
