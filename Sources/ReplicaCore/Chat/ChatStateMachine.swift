/// Applies chat commands to a store, deterministically.
///
/// Every check happens before the first write, so a refused command leaves the store as it
/// was even when many commands share one transaction.
public struct ChatStateMachine: Sendable {
    /// How long a sender's idempotency keys are remembered.
    public static let idempotencyRetentionMillis: Int64 = 24 * 60 * 60 * 1000

    public init() {}

    public func apply<Store: ChatStore>(_ command: ChatCommand, to store: Store) throws -> ChatResult {
        switch command {
        case .createAccount(let create): try createAccount(create, in: store)
        case .openSession(let open): try openSession(open, in: store)
        case .closeSession(let close): try closeSession(close, in: store)
        case .deleteAccount(let delete): try deleteAccount(delete, in: store)
        case .sendMessage(let send): try sendMessage(send, in: store)
        case .acknowledge(let ack): try acknowledge(ack, in: store)
        case .touchSessions(let touch): try touchSessions(touch, in: store)
        case .expireSessions(let expire): try expireSessions(expire, in: store)
        }
    }

    func createAccount(_ command: ChatCommand.CreateAccount, in store: some ChatStore) throws -> ChatResult {
        invariant(Username.isValid(command.username), "an invalid username reached the state machine")
        let key = Username.key(command.username)
        if try store.account(forKey: key) != nil { return .failure(.usernameTaken) }
        let account = AccountRecord(
            username: command.username, passwordHash: command.passwordHash, createdAtMillis: command.createdAtMillis)
        try store.insertAccount(account)
        return .success(.accountCreated(account))
    }

    func openSession(_ command: ChatCommand.OpenSession, in store: some ChatStore) throws -> ChatResult {
        guard let account = try store.account(forKey: Username.key(command.username)),
              account.passwordHash == command.verifiedPasswordHash
        else { return .failure(.invalidCredentials) }
        try store.insertSession(SessionRecord(
            tokenHash: command.tokenHash, accountKey: account.key, createdAtMillis: command.createdAtMillis))
        return .success(.sessionOpened(username: account.username))
    }

    func closeSession(_ command: ChatCommand.CloseSession, in store: some ChatStore) throws -> ChatResult {
        guard let session = try store.session(forTokenHash: command.tokenHash) else { return .failure(.unauthorized) }
        try store.deleteSession(forTokenHash: command.tokenHash)
        return .success(.sessionClosed(accountKey: session.accountKey, tokenHash: command.tokenHash))
    }

    func deleteAccount(_ command: ChatCommand.DeleteAccount, in store: some ChatStore) throws -> ChatResult {
        guard let caller = try authenticate(command.tokenHash, in: store) else { return .failure(.unauthorized) }
        let key = Username.key(command.username)
        guard let target = try store.account(forKey: key) else { return .failure(.noSuchUser) }
        guard target.key == caller.key else { return .failure(.forbidden) }
        try store.deleteSessions(ofAccount: key)
        try store.deleteMessages(ofAccount: key, upTo: Int64.max)
        try store.deleteIdempotencyRecords(senderKey: key, createdBefore: nil)
        try store.deleteAccount(forKey: key)
        return .success(.accountDeleted(username: target.username))
    }

    func sendMessage(_ command: ChatCommand.SendMessage, in store: some ChatStore) throws -> ChatResult {
        guard let sender = try authenticate(command.tokenHash, in: store) else { return .failure(.unauthorized) }
        if let key = command.idempotencyKey,
           let earlier = try store.idempotencyRecord(senderKey: sender.key, key: key),
           earlier.createdAtMillis > command.sentAtMillis - Self.idempotencyRetentionMillis {
            guard earlier.requestFingerprint == command.requestFingerprint else {
                return .failure(.idempotencyKeyReused)
            }
            return .success(.messageSent(earlier.message, isReplay: true))
        }
        let recipientKey = Username.key(command.recipient)
        guard var recipient = try store.account(forKey: recipientKey) else { return .failure(.noSuchUser) }

        recipient.lastSeq += 1
        let message = StoredMessage(
            id: command.messageID, seq: recipient.lastSeq, sender: sender.username,
            recipient: recipient.username, body: command.body, sentAtMillis: command.sentAtMillis)
        try store.insertMessage(message, recipientKey: recipientKey)
        try store.updateInbox(ofAccount: recipientKey, lastSeq: recipient.lastSeq, ackedSeq: recipient.ackedSeq)
        if let key = command.idempotencyKey {
            try store.deleteIdempotencyRecords(
                senderKey: sender.key, createdBefore: command.sentAtMillis - Self.idempotencyRetentionMillis)
            try store.deleteIdempotencyRecord(senderKey: sender.key, key: key)
            try store.insertIdempotencyRecord(IdempotencyRecord(
                senderKey: sender.key, key: key, requestFingerprint: command.requestFingerprint,
                message: message, createdAtMillis: command.sentAtMillis))
        }
        return .success(.messageSent(message, isReplay: false))
    }

    func acknowledge(_ command: ChatCommand.Acknowledge, in store: some ChatStore) throws -> ChatResult {
        invariant(command.upTo >= 0, "a negative ack reached the state machine")
        guard let caller = try authenticate(command.tokenHash, in: store) else { return .failure(.unauthorized) }
        let newAck = max(caller.ackedSeq, min(command.upTo, caller.lastSeq))
        if newAck > caller.ackedSeq {
            try store.deleteMessages(ofAccount: caller.key, upTo: newAck)
            try store.updateInbox(ofAccount: caller.key, lastSeq: caller.lastSeq, ackedSeq: newAck)
        }
        return .success(.acknowledged(accountKey: caller.key, upTo: newAck))
    }

    func touchSessions(_ command: ChatCommand.TouchSessions, in store: some ChatStore) throws -> ChatResult {
        for tokenHash in command.tokenHashes {
            try store.touchSession(tokenHash: tokenHash, atMillis: command.atMillis)
        }
        return .success(.sessionsTouched)
    }

    func expireSessions(_ command: ChatCommand.ExpireSessions, in store: some ChatStore) throws -> ChatResult {
        try store.deleteSessions(unusedBefore: command.unusedBeforeMillis)
        return .success(.sessionsExpired)
    }

    /// The account behind a live session, if any.
    func authenticate(_ tokenHash: String, in store: some ChatStore) throws -> AccountRecord? {
        guard let session = try store.session(forTokenHash: tokenHash) else { return nil }
        return try store.account(forKey: session.accountKey)
    }
}
