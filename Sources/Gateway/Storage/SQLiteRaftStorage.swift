import Foundation
import GRDB
import ReplicaCore

/// The Raft log, hard state and latest snapshot in the replica's SQLite database, beside
/// the chat state, so one transaction can persist entries and apply committed ones.
///
/// A snapshot here is only its index and term: the chat state in the same database is the
/// snapshot's content, copied into a file when a follower needs it (`StateFile`).
///
/// Raft reads through `RaftStorage`; only the replica's driver writes, inside its own
/// transactions. Terms of the held entries are mirrored in memory (the log is compacted
/// regularly, so the mirror stays small) because Raft asks for them on every append.
final class SQLiteRaftStorage: RaftStorage {
    let database: ChatDatabase
    private var hardState: HardState
    private var snapshotMetadata: SnapshotMetadata
    /// The entry just before the first one held: where the log was last compacted.
    private var logStart: SnapshotMetadata
    /// `terms[i]` is the term of the entry at `logStart.index + 1 + i`.
    private var terms: [Term]
    /// The entries appended last, so applying them and sending them to a follower that keeps
    /// up read no SQLite (a read transaction per send on every replica, issue 13).
    private var recent: RecentEntries

    init(database: ChatDatabase, recentEntries: RecentEntries = RecentEntries()) throws {
        self.database = database
        self.recent = recentEntries
        (hardState, snapshotMetadata, logStart, terms) = try Self.load(from: database)
    }

    /// Reads the mirror again after a transaction of the driver failed and rolled back: what
    /// the writes in it changed in memory must be forgotten too.
    func reload() throws {
        (hardState, snapshotMetadata, logStart, terms) = try Self.load(from: database)
        recent.removeAll()
    }

    private static func load(from database: ChatDatabase) throws -> (HardState, SnapshotMetadata, SnapshotMetadata, [Term]) {
        try database.read { db in
            let term = try ReplicaStateTable.get(.term, in: db) ?? 0
            let vote = try ReplicaStateTable.get(.vote, in: db) ?? 0
            let commit = try ReplicaStateTable.get(.commitIndex, in: db) ?? 0
            let hardState = HardState(
                term: Term(UInt64(term)), vote: vote == 0 ? nil : NodeID(UInt64(vote)), commit: LogIndex(UInt64(commit)))
            let row = try Row.fetchOne(db, sql: "SELECT log_index, term, membership FROM raft_snapshot WHERE id = 1")
            let metadata = try row.map { row in
                let membershipBytes = [UInt8](row[2] as Data)
                return SnapshotMetadata(
                    index: LogIndex(UInt64(row[0] as Int64)), term: Term(UInt64(row[1] as Int64)),
                    membership: membershipBytes.isEmpty ? Membership() : try Membership(decoding: membershipBytes))
            } ?? SnapshotMetadata(index: 0, term: 0)
            let logStart = SnapshotMetadata(
                index: LogIndex(UInt64(try ReplicaStateTable.get(.logStartIndex, in: db) ?? 0)),
                term: Term(UInt64(try ReplicaStateTable.get(.logStartTerm, in: db) ?? 0)))
            let terms = try Int64.fetchAll(
                db, sql: "SELECT term FROM raft_entry WHERE log_index > ? ORDER BY log_index",
                arguments: [Int64(logStart.index.rawValue)]
            ).map { Term(UInt64($0)) }
            return (hardState, metadata, logStart, terms)
        }
    }

    // MARK: Reads, by Raft

    func initialState() -> HardState { hardState }

    func firstIndex() -> LogIndex { LogIndex(logStart.index.rawValue + 1) }

    func lastIndex() -> LogIndex { LogIndex(logStart.index.rawValue + UInt64(terms.count)) }

    func term(at index: LogIndex) throws(RaftStorageError) -> Term {
        if index == logStart.index { return logStart.term }
        guard index > logStart.index else { throw .compacted }
        guard index <= lastIndex() else { throw .unavailable }
        return terms[Int(index.rawValue - logStart.index.rawValue - 1)]
    }

    func entries(in range: Range<LogIndex>, maxBytes: Int) throws -> [Entry] {
        guard range.lowerBound >= firstIndex() else { throw RaftStorageError.compacted }
        guard range.upperBound <= LogIndex(lastIndex().rawValue + 1) else { throw RaftStorageError.unavailable }
        guard !range.isEmpty else { return [] }
        if let held = recent.entries(in: range, maxBytes: maxBytes) { return held }
        return try database.read { db in
            let cursor = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT log_index, term, data, kind FROM raft_entry WHERE log_index >= ? AND log_index < ? ORDER BY log_index"),
                arguments: [Int64(range.lowerBound.rawValue), Int64(range.upperBound.rawValue)])
            var entries: [Entry] = []
            var bytes = 0
            while let row = try cursor.next() {
                let data: [UInt8] = Array(row[2] as Data)
                let entry = Entry(
                    term: Term(UInt64(row[1] as Int64)), index: LogIndex(UInt64(row[0] as Int64)), data: data,
                    kind: EntryKind(rawValue: UInt8(truncatingIfNeeded: row[3] as Int64)) ?? .command)
                bytes += entry.byteCount
                if !entries.isEmpty && bytes > maxBytes { break }
                entries.append(entry)
            }
            return entries
        }
    }

    var latestSnapshotIndex: LogIndex { snapshotMetadata.index }

    /// Only metadata: the state itself travels as a file beside the Raft message (`StateFile`).
    func snapshot() throws -> Snapshot {
        snapshotMetadata.index == 0 ? .empty : Snapshot(metadata: snapshotMetadata, data: [])
    }

    // MARK: Writes, by the driver inside its transaction

    /// Appends entries, first discarding stored entries at or after the first new index.
    func append(_ entries: [Entry], in db: Database) throws {
        guard let first = entries.first else { return }
        precondition(first.index.rawValue <= lastIndex().rawValue + 1, "append would leave a gap in the log")
        precondition(first.index > logStart.index, "append below the compacted log")
        if first.index <= lastIndex() {
            try db.cachedStatement(sql: "DELETE FROM raft_entry WHERE log_index >= ?").execute(arguments: [Int64(first.index.rawValue)])
        }
        try db.withDirectStatement("INSERT INTO raft_entry (log_index, term, data, kind) VALUES (?, ?, ?, ?)") { insert in
            for entry in entries {
                try insert.bind(Int64(entry.index.rawValue), at: 1)
                try insert.bind(Int64(entry.term.rawValue), at: 2)
                try insert.bind(entry.data, at: 3)
                try insert.bind(Int64(entry.kind.rawValue), at: 4)
                try insert.execute()
                insert.reset()
            }
        }
        terms.removeSubrange(Int(first.index.rawValue - logStart.index.rawValue - 1)...)
        terms.append(contentsOf: entries.map(\.term))
        recent.append(entries)
    }

    func setHardState(_ state: HardState, in db: Database) throws {
        precondition(state.term >= hardState.term, "the term never decreases")
        precondition(state.commit >= hardState.commit, "the commit index never goes back")
        // `hardState` mirrors what was last set. Most Readies move only the commit index, which
        // Raft need not keep (a restart relearns it, and starts from the applied index, which
        // each applying transaction records): it is written only with a new term or vote, so
        // a send's transaction writes no page for it (issue 13).
        if state.term != hardState.term || state.vote != hardState.vote {
            try ReplicaStateTable.set(.term, to: Int64(state.term.rawValue), in: db)
            try ReplicaStateTable.set(.vote, to: Int64(state.vote?.rawValue ?? 0), in: db)
            try ReplicaStateTable.set(.commitIndex, to: Int64(state.commit.rawValue), in: db)
        }
        hardState = state
    }

    /// Replaces the whole log with a snapshot received from the leader.
    func installSnapshot(_ metadata: SnapshotMetadata, in db: Database) throws {
        try saveSnapshot(metadata, in: db)
        try db.execute(sql: "DELETE FROM raft_entry")
        try setLogStart(metadata, in: db)
        terms = []
        recent.removeAll()
    }

    /// Records the state at `index` (already applied) as the latest snapshot, then compacts
    /// the log up to `retainedEntries` before it, so followers that are only a little behind
    /// still catch up from the log rather than a whole snapshot.
    /// `membership` is the configuration in force at `index` (`RaftNode.membership(at:)`).
    func createSnapshot(at index: LogIndex, membership: Membership, retainedEntries: UInt64, in db: Database) throws {
        precondition(index > snapshotMetadata.index && index <= lastIndex(), "snapshot outside the log")
        try saveSnapshot(SnapshotMetadata(index: index, term: try term(at: index), membership: membership), in: db)
        let compactTo = LogIndex(index.rawValue - min(retainedEntries, index.rawValue))
        guard compactTo > logStart.index else { return }
        let newStart = SnapshotMetadata(index: compactTo, term: try term(at: compactTo))
        try db.cachedStatement(sql: "DELETE FROM raft_entry WHERE log_index <= ?").execute(arguments: [Int64(compactTo.rawValue)])
        terms.removeFirst(Int(compactTo.rawValue - logStart.index.rawValue))
        try setLogStart(newStart, in: db)
    }

    private func setLogStart(_ start: SnapshotMetadata, in db: Database) throws {
        try ReplicaStateTable.set(.logStartIndex, to: Int64(start.index.rawValue), in: db)
        try ReplicaStateTable.set(.logStartTerm, to: Int64(start.term.rawValue), in: db)
        logStart = start
    }

    private func saveSnapshot(_ metadata: SnapshotMetadata, in db: Database) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO raft_snapshot (id, log_index, term, data, membership) VALUES (1, ?, ?, x'', ?)",
            arguments: [
                Int64(metadata.index.rawValue), Int64(metadata.term.rawValue),
                Data(metadata.membership.isEmpty ? [] : metadata.membership.encoded()),
            ])
        snapshotMetadata = metadata
    }
}
