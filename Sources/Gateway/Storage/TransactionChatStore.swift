import ReplicaCore

/// The SQLite store of one applying transaction, with the account and session rows its
/// commands read kept in memory until it ends, and inbox positions written once, at the end.
///
/// A batch of sends reads the same sessions and accounts again and again (a sender's session
/// and account, a recipient's inbox position) and rewrites the same inbox row once per
/// message: five SQLite statements per send, on every replica (issue 13). Here a row read once
/// is answered from memory for the rest of the transaction, and only the last inbox position
/// of each account is written when `applying` returns, before the transaction can commit.
///
/// Every write goes through this store, so what it keeps is what SQLite holds: each write
/// either updates the kept row in the same way or forgets it. Only `account(forKey:)` and
/// `session(forTokenHash:)` read the rows kept here; nothing in an applying transaction reads
/// the `account` table by any other statement before `applying` returns.
final class TransactionChatStore: ChatStore {
    private let base: SQLiteChatStore
    /// Accounts read or written, by key; `.some(nil)` is a key known to have no account.
    private var accounts: [String: AccountRecord?] = [:]
    /// Keys whose kept account has an inbox position not yet written.
    private var unwrittenInboxes: Set<String> = []
    /// Sessions read or written, by token hash; `.some(nil)` is a token known to have none.
    private var sessions: [String: SessionRecord?] = [:]

    private init(_ base: SQLiteChatStore) {
        self.base = base
    }

    /// Runs `body` with a store over `base`, then writes the inbox positions it kept: made only
    /// here, no store's transaction can commit with positions still in memory.
    static func applying<Result>(over base: SQLiteChatStore, _ body: (TransactionChatStore) throws -> Result) throws -> Result {
        let store = TransactionChatStore(base)
        let result = try body(store)
        try store.finish()
        return result
    }

    private func finish() throws {
        for key in unwrittenInboxes.sorted() {
            guard let account = accounts[key] ?? nil else { continue }
            try base.updateInbox(ofAccount: key, lastSeq: account.lastSeq, ackedSeq: account.ackedSeq)
        }
        unwrittenInboxes.removeAll()
    }

    /// The row kept for `key`, or the one `read` finds (or its absence), kept from then on.
    private static func row<Record>(
        _ key: String, keptIn rows: inout [String: Record?], orRead read: (String) throws -> Record?
    ) throws -> Record? {
        if let kept = rows[key] { return kept }
        let row = try read(key)
        rows[key] = .some(row)
        return row
    }

    // MARK: Accounts

    func account(forKey key: String) throws -> AccountRecord? {
        try Self.row(key, keptIn: &accounts) { try base.account(forKey: $0) }
    }

    func insertAccount(_ account: AccountRecord) throws {
        try base.insertAccount(account)
        accounts[account.key] = .some(account)
    }

    func updateInbox(ofAccount key: String, lastSeq: Int64, ackedSeq: Int64) throws {
        guard var account = accounts[key] ?? nil else {
            // Not kept (or known absent): written now, exactly as asked.
            try base.updateInbox(ofAccount: key, lastSeq: lastSeq, ackedSeq: ackedSeq)
            return
        }
        account.lastSeq = lastSeq
        account.ackedSeq = ackedSeq
        accounts[key] = .some(account)
        unwrittenInboxes.insert(key)
    }

    func deleteAccount(forKey key: String) throws {
        try base.deleteAccount(forKey: key)
        accounts[key] = .some(nil)
        unwrittenInboxes.remove(key)
    }

    // MARK: Sessions

    func session(forTokenHash tokenHash: String) throws -> SessionRecord? {
        try Self.row(tokenHash, keptIn: &sessions) { try base.session(forTokenHash: $0) }
    }

    func insertSession(_ session: SessionRecord) throws {
        try base.insertSession(session)
        sessions[session.tokenHash] = .some(session)
    }

    func deleteSession(forTokenHash tokenHash: String) throws {
        try base.deleteSession(forTokenHash: tokenHash)
        sessions[tokenHash] = .some(nil)
    }

    func deleteSessions(ofAccount key: String) throws {
        try base.deleteSessions(ofAccount: key)
        sessions.removeAll()
    }

    func touchSession(tokenHash: String, atMillis millis: Int64) throws {
        try base.touchSession(tokenHash: tokenHash, atMillis: millis)
        // The same rule as the UPDATE: a later recorded use is kept.
        if var session = sessions[tokenHash] ?? nil, session.lastUsedAtMillis < millis {
            session.lastUsedAtMillis = millis
            sessions[tokenHash] = .some(session)
        }
    }

    func deleteSessions(unusedBefore millis: Int64) throws {
        try base.deleteSessions(unusedBefore: millis)
        sessions.removeAll()
    }

    // MARK: Messages and idempotency records (not kept)

    func insertMessage(_ message: StoredMessage, recipientKey: String) throws {
        try base.insertMessage(message, recipientKey: recipientKey)
    }

    func deleteMessages(ofAccount key: String, upTo seq: Int64) throws {
        try base.deleteMessages(ofAccount: key, upTo: seq)
    }

    func idempotencyRecord(senderKey: String, key: String) throws -> IdempotencyRecord? {
        try base.idempotencyRecord(senderKey: senderKey, key: key)
    }

    func insertIdempotencyRecord(_ record: IdempotencyRecord) throws {
        try base.insertIdempotencyRecord(record)
    }

    func deleteIdempotencyRecord(senderKey: String, key: String) throws {
        try base.deleteIdempotencyRecord(senderKey: senderKey, key: key)
    }

    func deleteIdempotencyRecords(senderKey: String, createdBefore millis: Int64?) throws {
        try base.deleteIdempotencyRecords(senderKey: senderKey, createdBefore: millis)
    }
}
