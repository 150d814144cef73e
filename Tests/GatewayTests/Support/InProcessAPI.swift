import Foundation
import Logging
@testable import Gateway
import ReplicaCore

/// A `ChatAPI` over a fresh database, whose writes wait in a `HeldReplicator`, called the way
/// the HTTP server calls it.
struct InProcessAPI {
    let database: ChatDatabase
    let replicator = HeldReplicator()
    let waiters = InboxWaiters()
    let api: ChatAPI

    /// Each of `users` logged in with the token `token-<name>`, then `commands` applied.
    init(users: [String], then commands: [ChatCommand] = [], forwarder: WriteForwarder? = nil) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("in-process-api-\(UUID().uuidString)")
        database = try ChatDatabase(directory: directory)
        let now = Timestamp.nowMillis()
        var setUp: [ChatCommand] = []
        for name in users {
            setUp.append(.createAccount(.init(username: name, passwordHash: "h", createdAtMillis: now)))
            setUp.append(.openSession(.init(
                username: name, verifiedPasswordHash: "h", tokenHash: SessionToken.hash("token-\(name)"), createdAtMillis: now)))
        }
        _ = try database.apply(setUp + commands)
        // As the applier keeps it.
        let database = database
        try database.read { try database.sessions.reload(from: $0) }
        var dependencies = ChatAPI.Dependencies(
            database: database, replicator: replicator, waiters: waiters, metrics: ServiceMetrics(),
            passwordHasher: PasswordHasher(rounds: 1), logger: Logger(label: "test"))
        dependencies.forwarder = forwarder
        api = ChatAPI(dependencies)
    }

    /// A send from `sender` to `recipient`, as the leader would propose it; `body` is its id too.
    static func send(from sender: String, to recipient: String, body: String) -> ChatCommand {
        .sendMessage(.init(
            tokenHash: SessionToken.hash("token-\(sender)"), recipient: recipient, body: body, messageID: body,
            sentAtMillis: Timestamp.nowMillis(), idempotencyKey: nil, requestFingerprint: body))
    }

    /// Starts `request` as the server starts a suspended one; nil when it was not deferred.
    func start(_ request: HTTPRequest) -> HeldAnswer? {
        guard case .deferred(let start) = api.handle(request) else { return nil }
        let answer = HeldAnswer()
        start(answer.responder)
        return answer
    }
}
