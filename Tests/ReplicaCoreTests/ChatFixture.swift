@testable import ReplicaCore

/// A store with a state machine in front of it, and shorthands for the commands tests send.
final class ChatFixture {
    let store = InMemoryChatStore()
    let machine = ChatStateMachine()
    var clock: Int64 = 1_000_000

    @discardableResult
    func apply(_ command: ChatCommand) throws -> ChatResult {
        try machine.apply(command, to: store)
    }

    @discardableResult
    func createAccount(_ username: String, passwordHash: String = "hash") throws -> ChatResult {
        try apply(.createAccount(.init(username: username, passwordHash: passwordHash, createdAtMillis: clock)))
    }

    /// Creates an account and opens a session; returns the session's token hash.
    func signedUp(_ username: String) throws -> String {
        try createAccount(username, passwordHash: "hash-\(username)")
        let tokenHash = "token-\(username)-\(clock)"
        try apply(.openSession(.init(
            username: username, verifiedPasswordHash: "hash-\(username)", tokenHash: tokenHash, createdAtMillis: clock)))
        return tokenHash
    }

    @discardableResult
    func send(
        from tokenHash: String, to recipient: String, body: String = "hello", key: String? = nil,
        fingerprint: String = "fp", id: String? = nil
    ) throws -> ChatResult {
        clock += 1
        return try apply(.sendMessage(.init(
            tokenHash: tokenHash, recipient: recipient, body: body, messageID: id ?? "m\(clock)",
            sentAtMillis: clock, idempotencyKey: key, requestFingerprint: fingerprint)))
    }

    @discardableResult
    func acknowledge(_ tokenHash: String, upTo: Int64) throws -> ChatResult {
        try apply(.acknowledge(.init(tokenHash: tokenHash, upTo: upTo)))
    }
}

extension ChatResult {
    var rejection: ChatRejection? {
        if case .failure(let rejection) = self { return rejection }
        return nil
    }

    var sentMessage: StoredMessage? {
        if case .success(.messageSent(let message, _)) = self { return message }
        return nil
    }
}
