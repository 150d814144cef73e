import Foundation
import GRDB
import ReplicaCore

/// The whole chat state as one value: what a Raft snapshot carries to a follower that is
/// too far behind to catch up from the log.
struct ChatStateSnapshot: Codable, Equatable {
    struct Message: Codable, Equatable {
        var recipientKey: String
        var message: StoredMessage
    }

    var accounts: [AccountRecord]
    var sessions: [SessionRecord]
    var messages: [Message]
    var idempotencyRecords: [IdempotencyRecord]

    /// Reads the state as it stands in `db`'s transaction.
    static func export(from db: Database) throws -> [UInt8] {
        let accounts = try Row.fetchAll(db, sql: "SELECT username, password_hash, created_at, last_seq, acked_seq FROM account ORDER BY key")
            .map { AccountRecord(username: $0[0], passwordHash: $0[1], createdAtMillis: $0[2], lastSeq: $0[3], ackedSeq: $0[4]) }
        let sessions = try Row.fetchAll(db, sql: "SELECT token_hash, account_key, created_at FROM session ORDER BY token_hash")
            .map { SessionRecord(tokenHash: $0[0], accountKey: $0[1], createdAtMillis: $0[2]) }
        let messages = try Row.fetchAll(db, sql: """
            SELECT recipient_key, id, seq, sender, recipient, body, sent_at FROM message ORDER BY recipient_key, seq
            """).map {
                Message(recipientKey: $0[0], message: StoredMessage(
                    id: $0[1], seq: $0[2], sender: $0[3], recipient: $0[4], body: $0[5], sentAtMillis: $0[6]))
            }
        let store = SQLiteChatStore(db: db)
        let keys = try Row.fetchAll(db, sql: "SELECT sender_key, key FROM idempotency ORDER BY sender_key, key")
        let records = try keys.compactMap { try store.idempotencyRecord(senderKey: $0[0], key: $0[1]) }
        let snapshot = ChatStateSnapshot(accounts: accounts, sessions: sessions, messages: messages, idempotencyRecords: records)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array(try encoder.encode(snapshot))
    }

    /// Replaces the state in `db`'s transaction with the snapshot's.
    static func restore(_ data: [UInt8], into db: Database) throws {
        try db.execute(sql: "DELETE FROM account; DELETE FROM session; DELETE FROM message; DELETE FROM idempotency;")
        guard !data.isEmpty else { return }
        let snapshot = try JSONDecoder().decode(ChatStateSnapshot.self, from: Data(data))
        let store = SQLiteChatStore(db: db)
        for account in snapshot.accounts { try store.insertAccount(account) }
        for session in snapshot.sessions { try store.insertSession(session) }
        for message in snapshot.messages { try store.insertMessage(message.message, recipientKey: message.recipientKey) }
        for record in snapshot.idempotencyRecords { try store.insertIdempotencyRecord(record) }
    }
}
