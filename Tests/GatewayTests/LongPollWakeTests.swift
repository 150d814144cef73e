import Foundation
import ReplicaCore
import Testing
@testable import Gateway

/// A long-poll woken by a batch that did more than add messages (here the message was
/// acknowledged in the same batch) looks at its inbox again and waits on when it finds nothing.
struct LongPollWakeTests {
    let fixture: InProcessAPI

    /// bob, logged in as token-bob, holding message "first".
    init() throws {
        fixture = try InProcessAPI(users: ["bob"], then: [Self.send("first")])
    }

    static func send(_ body: String) -> ChatCommand { InProcessAPI.send(from: "bob", to: "bob", body: body) }

    /// Applies `commands` as one batch and wakes the long-polls, as the driver does.
    func deliver(_ commands: [ChatCommand]) throws {
        let results = try fixture.database.apply(commands)
        fixture.waiters.didApply(results.compactMap { try? $0.get() })
    }

    @Test func aMessageAcknowledgedInTheBatchThatAddedItLeavesTheLongPollWaiting() async throws {
        let answer = try #require(fixture.start(HTTPRequest(
            method: "GET", path: "/v1/inbox", query: [("consistency", "stale"), ("after", "1"), ("wait", "30")],
            headers: ["authorization": "Bearer token-bob"])), "the long-poll was not deferred")
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
