/// A `ChatStore` in memory, for tests of the state machine and for the simulator.
public final class InMemoryChatStore: ChatStore {
    public private(set) var accounts: [String: AccountRecord] = [:]
    public private(set) var sessions: [String: SessionRecord] = [:]
    /// Inboxes by account key, each in seq order.
    public private(set) var inboxes: [String: [StoredMessage]] = [:]
    public private(set) var idempotencyRecords: [String: [String: IdempotencyRecord]] = [:]

    public init() {}

    public func account(forKey key: String) -> AccountRecord? { accounts[key] }

    public func insertAccount(_ account: AccountRecord) {
        invariant(accounts[account.key] == nil, "account inserted twice")
        accounts[account.key] = account
    }

    public func updateInbox(ofAccount key: String, lastSeq: Int64, ackedSeq: Int64) {
        invariant(accounts[key] != nil, "inbox update for a missing account")
        accounts[key]?.lastSeq = lastSeq
        accounts[key]?.ackedSeq = ackedSeq
    }

    public func deleteAccount(forKey key: String) { accounts[key] = nil }

    public func session(forTokenHash tokenHash: String) -> SessionRecord? { sessions[tokenHash] }

    public func insertSession(_ session: SessionRecord) { sessions[session.tokenHash] = session }

    public func deleteSession(forTokenHash tokenHash: String) { sessions[tokenHash] = nil }

    public func touchSession(tokenHash: String, atMillis millis: Int64) {
        guard let session = sessions[tokenHash] else { return }
        sessions[tokenHash]?.lastUsedAtMillis = max(session.lastUsedAtMillis, millis)
    }

    public func deleteSessions(unusedBefore millis: Int64) {
        sessions = sessions.filter { $0.value.lastUsedAtMillis >= millis }
    }

    public func deleteSessions(ofAccount key: String) {
        sessions = sessions.filter { $0.value.accountKey != key }
    }

    public func insertMessage(_ message: StoredMessage, recipientKey: String) {
        invariant((inboxes[recipientKey]?.last?.seq ?? 0) < message.seq, "seq must increase")
        inboxes[recipientKey, default: []].append(message)
    }

    public func deleteMessages(ofAccount key: String, upTo seq: Int64) {
        inboxes[key]?.removeAll { $0.seq <= seq }
    }

    public func idempotencyRecord(senderKey: String, key: String) -> IdempotencyRecord? {
        idempotencyRecords[senderKey]?[key]
    }

    public func insertIdempotencyRecord(_ record: IdempotencyRecord) {
        idempotencyRecords[record.senderKey, default: [:]][record.key] = record
    }

    public func deleteIdempotencyRecord(senderKey: String, key: String) {
        idempotencyRecords[senderKey]?[key] = nil
    }

    public func deleteIdempotencyRecords(senderKey: String, createdBefore millis: Int64?) {
        guard let millis else { idempotencyRecords[senderKey] = nil; return }
        idempotencyRecords[senderKey] = idempotencyRecords[senderKey]?.filter { $0.value.createdAtMillis >= millis }
    }
}
