/// A state change of the chat service, decided completely before it is proposed.
///
/// Everything nondeterministic (clock readings, ids, password hashes, token hashes) is
/// chosen by the replica that accepts the request and travels inside the command, so every
/// replica applying the same commands in the same order reaches the same state.
public enum ChatCommand: Codable, Sendable, Equatable {
    case createAccount(CreateAccount)
    case openSession(OpenSession)
    case closeSession(CloseSession)
    case deleteAccount(DeleteAccount)
    case sendMessage(SendMessage)
    case acknowledge(Acknowledge)
    case touchSessions(TouchSessions)
    case expireSessions(ExpireSessions)

    public struct CreateAccount: Codable, Sendable, Equatable {
        public var username: String
        public var passwordHash: String
        public var createdAtMillis: Int64

        public init(username: String, passwordHash: String, createdAtMillis: Int64) {
            self.username = username
            self.passwordHash = passwordHash
            self.createdAtMillis = createdAtMillis
        }
    }

    /// Logging in. The password was verified against `verifiedPasswordHash` before proposing;
    /// applying checks the account still has that hash, so a login can't attach to an account
    /// that was deleted and re-created in between.
    public struct OpenSession: Codable, Sendable, Equatable {
        public var username: String
        public var verifiedPasswordHash: String
        public var tokenHash: String
        public var createdAtMillis: Int64

        public init(username: String, verifiedPasswordHash: String, tokenHash: String, createdAtMillis: Int64) {
            self.username = username
            self.verifiedPasswordHash = verifiedPasswordHash
            self.tokenHash = tokenHash
            self.createdAtMillis = createdAtMillis
        }
    }

    public struct CloseSession: Codable, Sendable, Equatable {
        public var tokenHash: String

        public init(tokenHash: String) {
            self.tokenHash = tokenHash
        }
    }

    public struct DeleteAccount: Codable, Sendable, Equatable {
        public var tokenHash: String
        public var username: String

        public init(tokenHash: String, username: String) {
            self.tokenHash = tokenHash
            self.username = username
        }
    }

    public struct SendMessage: Codable, Sendable, Equatable {
        public var tokenHash: String
        public var recipient: String
        public var body: String
        public var messageID: String
        public var sentAtMillis: Int64
        public var idempotencyKey: String?
        /// Identifies the request's content, so a reused key with different content is refused.
        public var requestFingerprint: String

        public init(
            tokenHash: String, recipient: String, body: String, messageID: String,
            sentAtMillis: Int64, idempotencyKey: String?, requestFingerprint: String
        ) {
            self.tokenHash = tokenHash
            self.recipient = recipient
            self.body = body
            self.messageID = messageID
            self.sentAtMillis = sentAtMillis
            self.idempotencyKey = idempotencyKey
            self.requestFingerprint = requestFingerprint
        }
    }

    public struct Acknowledge: Codable, Sendable, Equatable {
        public var tokenHash: String
        public var upTo: Int64

        public init(tokenHash: String, upTo: Int64) {
            self.tokenHash = tokenHash
            self.upTo = upTo
        }
    }

    /// Uses of sessions seen by replicas, recorded so that a session in use never expires.
    /// Sessions that no longer exist are skipped.
    public struct TouchSessions: Codable, Sendable, Equatable {
        public var tokenHashes: [String]
        public var atMillis: Int64

        public init(tokenHashes: [String], atMillis: Int64) {
            self.tokenHashes = tokenHashes
            self.atMillis = atMillis
        }
    }

    /// Removes the sessions unused since before `unusedBeforeMillis`: the leader computes the
    /// cutoff from its clock and `--session-ttl`, so every replica removes the same ones.
    public struct ExpireSessions: Codable, Sendable, Equatable {
        public var unusedBeforeMillis: Int64

        public init(unusedBeforeMillis: Int64) {
            self.unusedBeforeMillis = unusedBeforeMillis
        }
    }
}
