/// The storage the chat state machine reads and writes while applying commands.
///
/// The state machine owns the logic; a store only keeps rows. Gateway implements it over
/// SQLite inside the transaction that applies a batch; tests use `InMemoryChatStore`.
/// Keys of accounts are `Username.key(_:)` values.
public protocol ChatStore {
    func account(forKey key: String) throws -> AccountRecord?
    func insertAccount(_ account: AccountRecord) throws
    func updateInbox(ofAccount key: String, lastSeq: Int64, ackedSeq: Int64) throws
    func deleteAccount(forKey key: String) throws

    func session(forTokenHash tokenHash: String) throws -> SessionRecord?
    func insertSession(_ session: SessionRecord) throws
    func deleteSession(forTokenHash tokenHash: String) throws
    func deleteSessions(ofAccount key: String) throws
    /// Records a use of the session at `millis`, unless a later one is recorded already.
    func touchSession(tokenHash: String, atMillis millis: Int64) throws
    /// Deletes every session whose last recorded use is before `millis`.
    func deleteSessions(unusedBefore millis: Int64) throws

    func insertMessage(_ message: StoredMessage, recipientKey: String) throws
    /// Deletes the messages of an inbox with `seq <= upTo`.
    func deleteMessages(ofAccount key: String, upTo seq: Int64) throws

    func idempotencyRecord(senderKey: String, key: String) throws -> IdempotencyRecord?
    func insertIdempotencyRecord(_ record: IdempotencyRecord) throws
    func deleteIdempotencyRecord(senderKey: String, key: String) throws
    /// Deletes a sender's records created before `millis`; all of them when `millis` is nil.
    func deleteIdempotencyRecords(senderKey: String, createdBefore millis: Int64?) throws
}
