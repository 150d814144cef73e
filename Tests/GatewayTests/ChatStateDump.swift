import Foundation
import GRDB
import ReplicaCore
@testable import Gateway

/// The whole chat state as one value, to compare two databases' states in tests.
struct ChatStateDump: Codable, Equatable {
    struct Message: Codable, Equatable {
        var recipientKey: String
        var message: StoredMessage
    }

    var accounts: [AccountRecord]
    var sessions: [SessionRecord]
    var messages: [Message]
    var idempotencyRecords: [IdempotencyRecord]

    /// Reads the state as it stands in `db`'s transaction.
    static func read(from db: Database) throws -> ChatStateDump {
        let accounts = try Row.fetchAll(db, sql: "SELECT username, password_hash, created_at, last_seq, acked_seq FROM account ORDER BY key")
            .map { AccountRecord(username: $0[0], passwordHash: $0[1], createdAtMillis: $0[2], lastSeq: $0[3], ackedSeq: $0[4]) }
        let sessions = try Row.fetchAll(db, sql: "SELECT token_hash, account_key, created_at FROM session ORDER BY token_hash")
            .map { SessionRecord(tokenHash: $0[0], accountKey: $0[1], createdAtMillis: $0[2]) }
        let messages = try Row.fetchAll(db, sql: """
            SELECT recipient_key, id, seq, sender, recipient, body, sent_at FROM message ORDER BY recipient_key, seq
            """).map {
                Message(recipientKey: $0[0], message: StoredMessage(
                    id: $0[1], seq: $0[2], sender: $0[3], recipient: $0[4], body: MessageBody.text(from: $0[5]),
                    sentAtMillis: $0[6]))
            }
        let store = SQLiteChatStore(db: db)
        let keys = try Row.fetchAll(db, sql: "SELECT sender_key, key FROM idempotency ORDER BY sender_key, key")
        let records = try keys.compactMap { try store.idempotencyRecord(senderKey: $0[0], key: $0[1]) }
        return ChatStateDump(accounts: accounts, sessions: sessions, messages: messages, idempotencyRecords: records)
    }
}
