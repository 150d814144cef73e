import GRDB
import ReplicaCore

/// Read-side queries that serve GET requests from a replica's applied state.
enum ChatQueries {
    struct AccountSummary: Sendable, Equatable {
        var username: String
        var createdAtMillis: Int64
    }

    /// A session and the account it belongs to.
    static func session(forTokenHash tokenHash: String, in db: Database) throws -> (SessionRecord, AccountRecord)? {
        guard let session = try SQLiteChatStore.session(forTokenHash: tokenHash, in: db),
              let account = try SQLiteChatStore(db: db).account(forKey: session.accountKey)
        else { return nil }
        return (session, account)
    }

    /// Accounts whose key matches `pattern` (a lowercased glob of `*` and `?`), after `afterKey`,
    /// in key order; one more than `limit` is fetched to tell whether another page follows.
    static func accounts(matching pattern: String, afterKey: String?, limit: Int, in db: Database) throws -> [AccountSummary] {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT username, created_at FROM account WHERE key GLOB ? AND key > ? ORDER BY key LIMIT ?
                """),
            arguments: [pattern, afterKey ?? "", limit])
        return rows.map { AccountSummary(username: $0[0], createdAtMillis: $0[1]) }
    }

    static func messages(forAccount key: String, after seq: Int64, limit: Int, in db: Database) throws -> [StoredMessage] {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT id, seq, sender, recipient, body, sent_at FROM message
                WHERE recipient_key = ? AND seq > ? ORDER BY seq LIMIT ?
                """),
            arguments: [key, seq, limit])
        return rows.map {
            StoredMessage(
                id: $0[0], seq: $0[1], sender: $0[2], recipient: $0[3], body: MessageBody.text(from: $0[4]), sentAtMillis: $0[5])
        }
    }

    /// Counts the rows once (see `ChatStateSizes`).
    static func sizes(in db: Database) throws -> ChatStateSizes {
        ChatStateSizes(
            accounts: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM account") ?? 0,
            sessions: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM session") ?? 0,
            messages: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message") ?? 0)
    }
}
