import Foundation
import GRDB
import ReplicaCore

/// The replica's SQLite database: WAL mode with `synchronous=FULL`, one writer (the replica's
/// serial driver) and concurrent readers (request handlers).
public final class ChatDatabase: Sendable {
    let pool: DatabasePool
    /// The replica's data directory: the database, and snapshot files in transit.
    let directory: URL
    /// The sessions of the applied state, kept in memory by the applier.
    public let sessions = SessionTable()

    public init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = 8
        pool = try DatabasePool(path: directory.appendingPathComponent("chat.sqlite").path, configuration: configuration)
        // GRDB sets synchronous=NORMAL on WAL pools after prepareDatabase runs, which would let
        // a power loss drop acknowledged commits: set FULL again on the writer, and check it.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let mode = try synchronousMode()
        precondition(mode == 2, "SQLite must run with synchronous=FULL, found \(mode)")
        try Schema.migrator().migrate(pool)
        try pool.read { db in try sessions.reload(from: db) }
    }

    /// The writer connection's `PRAGMA synchronous` (2 is FULL).
    public func synchronousMode() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    /// Writes a compact copy of the database as it is now to `url` (`VACUUM INTO` reads one
    /// consistent view page by page, so writers go on and memory stays small).
    func copy(to url: URL) throws {
        // VACUUM may not run inside a transaction, which `read` would open.
        try pool.unsafeRead { db in
            try db.execute(sql: "VACUUM INTO ?", arguments: [url.path])
        }
    }

    /// Runs `body` on the writer connection outside any transaction (ATTACH needs that).
    func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction(body)
    }

    /// Runs `body` in one write transaction; only the replica's driver calls this.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.write(body)
    }

    /// Runs `body` in one write transaction that, unless `durably`, commits without waiting
    /// for the disk (`synchronous=NORMAL` for this one commit). Such a commit is atomic and
    /// ordered before every later one, but a crash may lose it.
    func write<T>(durably: Bool, _ body: (Database) throws -> T) throws -> T {
        guard !durably else { return try pool.write(body) }
        return try pool.writeWithoutTransaction { db in
            try db.cachedStatement(sql: "PRAGMA synchronous = NORMAL").execute()
            defer {
                do {
                    try db.cachedStatement(sql: "PRAGMA synchronous = FULL").execute()
                } catch {
                    fatalError("could not restore synchronous=FULL: \(error)")
                }
            }
            var result: T?
            try db.inTransaction {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }
}

/// Small named integers kept beside the chat state.
enum ReplicaStateTable {
    enum Name: String {
        case appliedIndex = "applied_index"
        case term
        case vote
        case commitIndex = "commit_index"
        case logStartIndex = "log_start_index"
        case logStartTerm = "log_start_term"
        /// Set once the replica learned it was removed: the committed index that proves it.
        case removedAt = "removed_at"
        /// `ReplicaIdentity.joinedAt`.
        case joinedAt = "joined_at"
        /// 1 for a replica that joined without `--learner`: it asks to become a voter once caught
        /// up, also after a restart that came before its promotion.
        case seeksPromotion = "seeks_promotion"
    }

    static func get(_ name: Name, in db: Database) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM replica_state WHERE name = ?"), arguments: [name.rawValue])
    }

    static func set(_ name: Name, to value: Int64, in db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO replica_state (name, value) VALUES (?, ?)")
            .execute(arguments: [name.rawValue, value])
    }
}
