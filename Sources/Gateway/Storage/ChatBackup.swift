import Foundation
import GRDB
import ReplicaCore

/// A backup is a consistent copy of a replica's database (`chatd --backup-to`), taken while it
/// runs. Restoring one founds a new one-replica cluster whose state is the backup's
/// (`chatd --restore`); other replicas then join it and receive that state as a snapshot.
///
/// Restoring into an existing cluster, or a replica's own copy in place, is not offered: the
/// replica would forget votes it cast and entries it acknowledged since.
///
/// Run a backup as the replica's own user: on a stopped replica SQLite creates the `-wal` and
/// `-shm` files it reads through, and they stay behind owned by whoever ran it.
public enum ChatBackup {
    /// Copies the database in `dataDirectory` to `file` (which must not exist) without taking
    /// the replica's lock: SQLite lets a reader copy the committed state beside the writer.
    /// Returns the applied index the copy stands at.
    public static func write(dataDirectory: URL, to file: URL) throws -> Int64 {
        let path = dataDirectory.appendingPathComponent("chat.sqlite").path
        guard FileManager.default.fileExists(atPath: path) else { throw ChatBackupError.noDatabase(dataDirectory.path) }
        guard !FileManager.default.fileExists(atPath: file.path) else { throw ChatBackupError.exists(file.path) }
        let source: DatabaseQueue
        do {
            source = try readOnly(path)
        } catch {
            throw ChatBackupError.copyFailed(from: path, to: file.path, reason: reason(error))
        }
        do {
            // VACUUM INTO copies what one read transaction sees: the chat tables and the applied
            // index that goes with them, as the replica's last commit left them.
            try source.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [file.path]) }
        } catch {
            // A full disk may have left part of a file, which a retry would refuse to overwrite.
            try? FileManager.default.removeItem(at: file)
            throw ChatBackupError.copyFailed(from: path, to: file.path, reason: Self.reason(error))
        }
        let applied = try appliedIndex(of: file)
        // --restore refuses such a file: a backup job must not report success with it.
        guard applied > 0 else {
            try? FileManager.default.removeItem(at: file)
            throw ChatBackupError.nothingApplied(dataDirectory.path)
        }
        return applied
    }

    /// The applied index a backup stands at; fails on a file that is not one, or that a later
    /// version of chatd wrote (its tables may hold what this version would drop).
    static func appliedIndex(of file: URL) throws -> Int64 {
        guard FileManager.default.isReadableFile(atPath: file.path) else { throw ChatBackupError.unreadable(file.path) }
        do {
            return try readOnly(file.path).read { db in
                for table in StateFile.chatTables where try !db.tableExists(table) { throw ChatBackupError.notABackup(file.path) }
                let known = Set(Schema.migrator().migrations)
                let made = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
                guard Set(made).isSubset(of: known) else { throw ChatBackupError.newer(file.path) }
                return try ReplicaStateTable.get(.appliedIndex, in: db) ?? 0
            }
        } catch let error as ChatBackupError {
            throw error
        } catch {
            throw ChatBackupError.notABackup(file.path)
        }
    }

    /// SQLite's own words for what went wrong ("database disk image is malformed", "unable to
    /// open database file"), without the statement that met it.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        return error.message ?? "SQLite error \(error.resultCode.rawValue)"
    }

    private static func readOnly(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Makes the empty `database` the first replica of a new cluster of `identity`'s founding
    /// member alone, whose state is `file`'s: its chat tables, at the backup's applied index,
    /// recorded as a snapshot of term 1. Returns that index.
    static func restore(_ file: URL, as identity: ReplicaIdentity, into database: ChatDatabase) throws -> Int64 {
        let applied = try appliedIndex(of: file)
        guard applied > 0 else { throw ChatBackupError.empty(file.path) }
        // A backup from an earlier version is brought to this schema on a copy first, kept in
        // the data directory (whose disk must hold the state anyway), not in a small /tmp.
        let upgraded = database.directory.appendingPathComponent("restore-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: upgraded) }
        try FileManager.default.createDirectory(at: upgraded, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: file, to: upgraded.appendingPathComponent("chat.sqlite"))
        let stateFile = upgraded.appendingPathComponent("state.sqlite")
        do {
            try ChatDatabase(directory: upgraded).copy(to: stateFile)
        } catch {
            throw ChatBackupError.damaged(file.path, reason: reason(error))
        }

        let storage = try SQLiteRaftStorage(database: database)
        let index = LogIndex(UInt64(applied))
        try database.writeWithoutTransaction { db in
            try StateFile.withAttached(stateFile, to: db) {
                try db.inTransaction {
                    _ = try StateFile.replaceChatState(in: db)
                    try storage.installSnapshot(
                        SnapshotMetadata(index: index, term: Term(1), membership: identity.bootstrapMembership), in: db)
                    try storage.setHardState(HardState(term: Term(1), vote: nil, commit: index), in: db)
                    try ReplicaStateTable.set(.appliedIndex, to: applied, in: db)
                    try ReplicaIdentityTable.save(identity, in: db)
                    return .commit
                }
            }
        }
        try database.read { db in try database.sessions.reload(from: db) }
        return applied
    }
}

public enum ChatBackupError: Error, Equatable, CustomStringConvertible {
    case noDatabase(String)
    case exists(String)
    case unreadable(String)
    case notABackup(String)
    case newer(String)
    case empty(String)
    case notEmpty(String)
    case nothingApplied(String)
    case copyFailed(from: String, to: String, reason: String)
    case damaged(String, reason: String)

    public var description: String {
        switch self {
        case .noDatabase(let directory): "\(directory) holds no replica's database"
        case .exists(let path): "\(path) exists already: give a new file to back up to"
        case .unreadable(let path): "cannot read \(path): no such file, or no permission"
        case .notABackup(let path): "\(path) is not a backup made by chatd --backup-to"
        case .newer(let path): "\(path) was made by a later version of chatd: restore it with that version"
        case .empty(let path): "\(path) holds no state: its replica had applied nothing"
        case .copyFailed(let source, let target, let reason):
            "cannot back up \(source) to \(target): \(reason) (a missing folder, no permission, a full disk, or a damaged database)"
        case .damaged(let path, let reason): "\(path) cannot be restored: \(reason)"
        case .nothingApplied(let directory): "\(directory) holds a replica that has applied nothing yet: there is nothing to back up"
        case .notEmpty(let directory): "--restore founds a new cluster, but \(directory) holds Raft state already: give an empty --data-dir"
        }
    }
}
