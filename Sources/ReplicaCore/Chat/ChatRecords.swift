/// The rows of the chat state, as the state machine reads and writes them through `ChatStore`.

public struct AccountRecord: Sendable, Equatable, Codable {
    /// The username as its owner spelled it.
    public var username: String
    public var passwordHash: String
    public var createdAtMillis: Int64
    /// The seq of the newest message ever delivered to this inbox; seqs are never reused.
    public var lastSeq: Int64
    /// Messages with `seq <= ackedSeq` have been acknowledged and deleted.
    public var ackedSeq: Int64

    public init(username: String, passwordHash: String, createdAtMillis: Int64, lastSeq: Int64 = 0, ackedSeq: Int64 = 0) {
        self.username = username
        self.passwordHash = passwordHash
        self.createdAtMillis = createdAtMillis
        self.lastSeq = lastSeq
        self.ackedSeq = ackedSeq
    }

    /// The case-insensitive identity of the account.
    public var key: String { Username.key(username) }
}

public struct SessionRecord: Sendable, Equatable, Codable {
    public var tokenHash: String
    public var accountKey: String
    public var createdAtMillis: Int64
    /// The last use the cluster has recorded (see `ChatCommand.TouchSessions`); sessions
    /// unused for long enough are removed by `ChatCommand.ExpireSessions`.
    public var lastUsedAtMillis: Int64

    public init(tokenHash: String, accountKey: String, createdAtMillis: Int64, lastUsedAtMillis: Int64? = nil) {
        self.tokenHash = tokenHash
        self.accountKey = accountKey
        self.createdAtMillis = createdAtMillis
        self.lastUsedAtMillis = lastUsedAtMillis ?? createdAtMillis
    }
}

public struct StoredMessage: Sendable, Equatable, Codable {
    public var id: String
    public var seq: Int64
    public var sender: String
    public var recipient: String
    public var body: String
    public var sentAtMillis: Int64

    public init(id: String, seq: Int64, sender: String, recipient: String, body: String, sentAtMillis: Int64) {
        self.id = id
        self.seq = seq
        self.sender = sender
        self.recipient = recipient
        self.body = body
        self.sentAtMillis = sentAtMillis
    }
}

/// What a send with an idempotency key answered, kept so a retry gets the same answer.
public struct IdempotencyRecord: Sendable, Equatable, Codable {
    public var senderKey: String
    public var key: String
    public var requestFingerprint: String
    public var message: StoredMessage
    public var createdAtMillis: Int64

    public init(senderKey: String, key: String, requestFingerprint: String, message: StoredMessage, createdAtMillis: Int64) {
        self.senderKey = senderKey
        self.key = key
        self.requestFingerprint = requestFingerprint
        self.message = message
        self.createdAtMillis = createdAtMillis
    }
}
