/// What applying a command produced.
public enum ChatOutcome: Sendable, Equatable {
    case accountCreated(AccountRecord)
    case sessionOpened(username: String)
    /// The session of `tokenHash` ended; `accountKey` is its account's, for whoever waits on it.
    case sessionClosed(accountKey: String, tokenHash: String)
    case accountDeleted(username: String)
    /// A new message, or the original answer to a retried send with the same idempotency key.
    case messageSent(StoredMessage, isReplay: Bool)
    /// The inbox of `accountKey` is acknowledged up to `upTo`.
    case acknowledged(accountKey: String, upTo: Int64)
    case sessionsTouched
    case sessionsExpired
}

/// Why a command was refused. A refused command changes nothing.
public enum ChatRejection: Error, Sendable, Equatable {
    case usernameTaken
    case invalidCredentials
    /// The session the command was issued under no longer exists.
    case unauthorized
    case forbidden
    case noSuchUser
    case idempotencyKeyReused
}

public typealias ChatResult = Result<ChatOutcome, ChatRejection>
