import Foundation
import GRDB
import ReplicaCore

/// Rows added and removed by one transaction of the applier, so that it knows the state's
/// sizes without counting them (`ChatStateSizes`).
final class SizeTally {
    var change = ChatStateSizes()
}

/// The chat state's rows in SQLite, read and written inside a transaction the caller owns.
struct SQLiteChatStore: ChatStore {
    let db: Database
    /// Given by the applier: every insert and delete is counted here.
    var tally: SizeTally?
    /// Given by the applier: every write to a session row is noted here, for `SessionTable`.
    var sessionChanges: SessionChanges?

    init(db: Database, tally: SizeTally? = nil, sessionChanges: SessionChanges? = nil) {
        self.db = db
        self.tally = tally
        self.sessionChanges = sessionChanges
    }

    private func count(_ keyPath: WritableKeyPath<ChatStateSizes, Int>, sign: Int) {
        tally?.change[keyPath: keyPath] += sign * db.changesCount
    }

    // The statements each send runs go through `DirectStatement`; the rest through GRDB.

    func account(forKey key: String) throws -> AccountRecord? {
        try db.withDirectStatement(
            "SELECT username, password_hash, created_at, last_seq, acked_seq FROM account WHERE key = ?"
        ) { statement in
            try statement.bind(key, at: 1)
            guard try statement.stepToRow() else { return nil }
            return AccountRecord(
                username: statement.text(at: 0), passwordHash: statement.text(at: 1),
                createdAtMillis: statement.int64(at: 2), lastSeq: statement.int64(at: 3), ackedSeq: statement.int64(at: 4))
        }
    }

    func insertAccount(_ account: AccountRecord) throws {
        try db.cachedStatement(sql: """
            INSERT INTO account (key, username, password_hash, created_at, last_seq, acked_seq) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                account.key, account.username, account.passwordHash, account.createdAtMillis, account.lastSeq,
                account.ackedSeq,
            ])
        count(\.accounts, sign: 1)
    }

    func updateInbox(ofAccount key: String, lastSeq: Int64, ackedSeq: Int64) throws {
        try db.withDirectStatement("UPDATE account SET last_seq = ?, acked_seq = ? WHERE key = ?") { statement in
            try statement.bind(lastSeq, at: 1)
            try statement.bind(ackedSeq, at: 2)
            try statement.bind(key, at: 3)
            try statement.execute()
        }
    }

    func deleteAccount(forKey key: String) throws {
        try db.cachedStatement(sql: "DELETE FROM account WHERE key = ?").execute(arguments: [key])
        count(\.accounts, sign: -1)
    }

    func session(forTokenHash tokenHash: String) throws -> SessionRecord? {
        try Self.session(forTokenHash: tokenHash, in: db)
    }

    static func session(forTokenHash tokenHash: String, in db: Database) throws -> SessionRecord? {
        try db.withDirectStatement("SELECT account_key, created_at, last_used_at FROM session WHERE token_hash = ?") { statement in
            try statement.bind(tokenHash, at: 1)
            guard try statement.stepToRow() else { return nil }
            return SessionRecord(
                tokenHash: tokenHash, accountKey: statement.text(at: 0),
                createdAtMillis: statement.int64(at: 1), lastUsedAtMillis: statement.int64(at: 2))
        }
    }

    func insertSession(_ session: SessionRecord) throws {
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO session (token_hash, account_key, created_at, last_used_at) VALUES (?, ?, ?, ?)
            """).execute(arguments: [session.tokenHash, session.accountKey, session.createdAtMillis, session.lastUsedAtMillis])
        count(\.sessions, sign: 1)
        sessionChanges?.record(.inserted(session))
    }

    func touchSession(tokenHash: String, atMillis millis: Int64) throws {
        try db.cachedStatement(sql: "UPDATE session SET last_used_at = ? WHERE token_hash = ? AND last_used_at < ?")
            .execute(arguments: [millis, tokenHash, millis])
        sessionChanges?.record(.touched(tokenHash: tokenHash, millis: millis))
    }

    func deleteSessions(unusedBefore millis: Int64) throws {
        try db.cachedStatement(sql: "DELETE FROM session WHERE last_used_at < ?").execute(arguments: [millis])
        count(\.sessions, sign: -1)
        sessionChanges?.record(.deletedUnusedBefore(millis: millis))
    }

    func deleteSession(forTokenHash tokenHash: String) throws {
        try db.cachedStatement(sql: "DELETE FROM session WHERE token_hash = ?").execute(arguments: [tokenHash])
        count(\.sessions, sign: -1)
        sessionChanges?.record(.deleted(tokenHash: tokenHash))
    }

    func deleteSessions(ofAccount key: String) throws {
        try db.cachedStatement(sql: "DELETE FROM session WHERE account_key = ?").execute(arguments: [key])
        count(\.sessions, sign: -1)
        sessionChanges?.record(.deletedOfAccount(key: key))
    }

    func insertMessage(_ message: StoredMessage, recipientKey: String) throws {
        try db.withDirectStatement("""
            INSERT INTO message (recipient_key, seq, id, sender, recipient, body, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            """) { statement in
            try statement.bind(recipientKey, at: 1)
            try statement.bind(message.seq, at: 2)
            try statement.bind(message.id, at: 3)
            try statement.bind(message.sender, at: 4)
            try statement.bind(message.recipient, at: 5)
            try statement.bind(MessageBody.databaseValue(message.body), at: 6)
            try statement.bind(message.sentAtMillis, at: 7)
            try statement.execute()
        }
        count(\.messages, sign: 1)
    }

    func deleteMessages(ofAccount key: String, upTo seq: Int64) throws {
        try db.cachedStatement(sql: "DELETE FROM message WHERE recipient_key = ? AND seq <= ?")
            .execute(arguments: [key, seq])
        count(\.messages, sign: -1)
    }

    func idempotencyRecord(senderKey: String, key: String) throws -> IdempotencyRecord? {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT fingerprint, message, created_at FROM idempotency WHERE sender_key = ? AND key = ?"),
            arguments: [senderKey, key])
        guard let row else { return nil }
        let messageJSON: String = row[1]
        let message = try JSONDecoder().decode(StoredMessage.self, from: Data(messageJSON.utf8))
        return IdempotencyRecord(
            senderKey: senderKey, key: key, requestFingerprint: row[0], message: message, createdAtMillis: row[2])
    }

    func insertIdempotencyRecord(_ record: IdempotencyRecord) throws {
        // Sorted keys: every replica stores the same bytes for the same record.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let messageJSON = String(decoding: try encoder.encode(record.message), as: UTF8.self)
        try db.cachedStatement(sql: """
            INSERT INTO idempotency (sender_key, key, fingerprint, message, created_at) VALUES (?, ?, ?, ?, ?)
            """).execute(arguments: [
                record.senderKey, record.key, record.requestFingerprint, messageJSON, record.createdAtMillis,
            ])
    }

    func deleteIdempotencyRecord(senderKey: String, key: String) throws {
        try db.cachedStatement(sql: "DELETE FROM idempotency WHERE sender_key = ? AND key = ?")
            .execute(arguments: [senderKey, key])
    }

    func deleteIdempotencyRecords(senderKey: String, createdBefore millis: Int64?) throws {
        if let millis {
            try db.cachedStatement(sql: "DELETE FROM idempotency WHERE sender_key = ? AND created_at < ?")
                .execute(arguments: [senderKey, millis])
        } else {
            try db.cachedStatement(sql: "DELETE FROM idempotency WHERE sender_key = ?").execute(arguments: [senderKey])
        }
    }
}
