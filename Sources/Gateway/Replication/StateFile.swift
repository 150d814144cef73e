import Foundation
import GRDB

/// The chat state as a standalone SQLite file: what a follower too far behind to catch up
/// from the log receives, streamed in pieces (etcd sends its backend database the same way).
///
/// The Raft snapshot itself is only metadata (index and term). The file is a consistent copy
/// of the leader's whole database at its applied index then, which is at or after the
/// snapshot's; the receiver keeps the chat tables and that applied index, and skips the
/// entries the file already covers. Nothing here holds the state in memory.
enum StateFile {
    /// The tables that make up the chat state (the Raft tables stay the receiver's own).
    static let chatTables = ["account", "session", "message", "idempotency"]
    private static let attachedName = "incoming_state"

    /// Runs `body` with the state file at `url` attached to `db`, so that a transaction the
    /// body opens can call `replaceChatState(in:)`. `db` must be the writer, outside any
    /// transaction (SQLite cannot attach inside one). The file is made by `ChatDatabase.copy(to:)`.
    static func withAttached<T>(_ url: URL, to db: Database, _ body: () throws -> T) throws -> T {
        try db.execute(sql: "ATTACH DATABASE ? AS \(attachedName)", arguments: [url.path])
        defer { try? db.execute(sql: "DETACH DATABASE \(attachedName)") }
        return try body()
    }

    /// Replaces the chat tables with the attached file's and returns the applied index the
    /// file's state corresponds to. Both databases come from the same schema migrations, so
    /// their columns are in the same order.
    static func replaceChatState(in db: Database) throws -> Int64 {
        for table in chatTables {
            try db.execute(sql: "DELETE FROM main.\(table)")
            try db.execute(sql: "INSERT INTO main.\(table) SELECT * FROM \(attachedName).\(table)")
        }
        return try Int64.fetchOne(
            db, sql: "SELECT value FROM \(attachedName).replica_state WHERE name = ?",
            arguments: [ReplicaStateTable.Name.appliedIndex.rawValue]) ?? 0
    }
}
