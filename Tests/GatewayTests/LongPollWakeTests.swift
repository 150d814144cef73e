import Foundation
import Logging
import ReplicaCore
import Testing
@testable import Gateway

/// A long-poll woken by a batch that did more than add messages (here the message was
/// acknowledged in the same batch) looks at its inbox again and waits on when it finds nothing.
struct LongPollWakeTests {
    let database: ChatDatabase
    let waiters = InboxWaiters()
    let api: ChatAPI

    /// bob, logged in as token-bob, holding message 1.
    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("long-poll-wake-\(UUID().uuidString)")
        database = try ChatDatabase(directory: directory)
        let now = Timestamp.nowMillis()
        _ = try database.apply([
            .createAccount(.init(username: "bob", passwordHash: "h", createdAtMillis: now)),
            .openSession(.init(username: "bob", verifiedPasswordHash: "h", tokenHash: SessionToken.hash("token-bob"), createdAtMillis: now)),
            Self.send("first"),
        ])
        let database = database
        try database.read { try database.sessions.reload(from: $0) }
        api = ChatAPI(.init(
            database: database, replicator: HotPathTests.HeldReplicator(), waiters: waiters, metrics: ServiceMetrics(),
            passwordHasher: PasswordHasher(rounds: 1), logger: Logger(label: "test")))
    }

    static func send(_ body: String) -> ChatCommand {
        .sendMessage(.init(
            tokenHash: SessionToken.hash("token-bob"), recipient: "bob", body: body, messageID: body,
            sentAtMillis: Timestamp.nowMillis(), idempotencyKey: nil, requestFingerprint: body))
    }

    /// Applies `commands` as one batch and wakes the long-polls, as the driver does.
    func deliver(_ commands: [ChatCommand]) throws {
        let results = try database.apply(commands)
        waiters.didApply(results.compactMap { try? $0.get() })
    }

    @Test func aMessageAcknowledgedInTheBatchThatAddedItLeavesTheLongPollWaiting() async throws {
        guard case .deferred(let start) = api.handle(HTTPRequest(
            method: "GET", path: "/v1/inbox", query: [("consistency", "stale"), ("after", "1"), ("wait", "30")],
            headers: ["authorization": "Bearer token-bob"]))
        else {
            Issue.record("the long-poll was not deferred")
            return
        }
        let answer = HotPathTests.Answer()
        start(answer.responder)
        #expect(answer.response == nil, "answered before anything arrived")
        try deliver([Self.send("second"), .acknowledge(.init(tokenHash: SessionToken.hash("token-bob"), upTo: 2))])
        // The answer is made when asked for, so it is asked for before anything else arrives.
        let early = answer.response.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(early == nil, "the long-poll ended with \(early ?? "") though its wait had not run out")
        try deliver([Self.send("third")])
        let response = try #require(await answer.arrival())
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == 200)
        #expect(body.contains("third"), "the long-poll ended before the next message: \(body)")
    }
}
