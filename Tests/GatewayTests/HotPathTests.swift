import Foundation
import Testing
@testable import Gateway
import ReplicaCore

/// A send, and a stale long-poll read, are handled on the thread that took the request (the
/// epoll thread), with no task in between: issue 13's "no task per send". These tests call the
/// API the way the HTTP server does and check that the work was done before the call returned.
@Suite struct HotPathTests {
    let fixture: InProcessAPI
    var database: ChatDatabase { fixture.database }
    var replicator: HeldReplicator { fixture.replicator }
    var api: ChatAPI { fixture.api }

    /// alice and bob, each logged in with the token of their name; bob holds one message.
    init() throws {
        fixture = try InProcessAPI(users: ["alice", "bob"], then: [InProcessAPI.send(from: "alice", to: "bob", body: "waiting")])
    }

    func start(_ request: HTTPRequest) -> HeldAnswer? { fixture.start(request) }

    func send(_ body: String, token: String) -> HTTPRequest {
        HTTPRequest(
            method: "POST", path: "/v1/messages",
            headers: ["authorization": "Bearer \(token)", "content-type": "application/json"], body: Array(body.utf8))
    }

    @Test func aSendReachesTheReplicatorBeforeTheHandlerReturns() throws {
        let answer = try #require(start(send(#"{"to":"bob","body":"hi"}"#, token: "token-alice")), "a send must be deferred, not a task")
        let command = try #require(replicator.commands.first, "the send was not submitted on the thread that took it")
        guard case .sendMessage(let send) = command else {
            Issue.record("submitted \(command), not a send")
            return
        }
        #expect(send.tokenHash == SessionToken.hash("token-alice") && send.recipient == "bob" && send.body == "hi")
        #expect(answer.response == nil, "answered before the command was applied")
    }

    @Test func aSendIsAnsweredWithWhatApplyingItProduced() throws {
        let answer = try #require(start(send(#"{"to":"bob","body":"hi"}"#, token: "token-alice")))
        let command = try #require(replicator.commands.first)
        let result = try database.apply([command])[0]
        #expect(replicator.completeFirst(with: .success(result)))
        let response = try #require(answer.response, "the completion did not answer")
        #expect(response.status == 201, "status \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        #expect(json?["body"] as? String == "hi" && json?["from"] as? String == "alice")
    }

    @Test func aSendThatTimedOutIsA503() throws {
        let answer = try #require(start(send(#"{"to":"bob","body":"hi"}"#, token: "token-alice")))
        try #require(replicator.completeFirst(with: .failure(.timedOut)), "nothing was submitted: \(String(describing: answer.response?.status))")
        #expect(answer.response?.status == 503)
    }

    @Test func aSendWithABadBodyIsRefusedAtOnceAndSubmitsNothing() throws {
        let answer = try #require(start(send(#"{"to":"bob"}"#, token: "token-alice")))
        #expect(answer.response?.status == 400, "got \(String(describing: answer.response?.status))")
        #expect(replicator.commands.isEmpty, "a refused send was submitted")
    }

    @Test func aSendWithATokenUnknownHereIsRefusedAfterTheLinearizableRecheck() async throws {
        let answer = try #require(start(send(#"{"to":"bob","body":"hi"}"#, token: "token-nobody")))
        // The re-check runs in a task: wait for its answer.
        #expect(await answer.arrival()?.status == 401)
        #expect(replicator.commands.isEmpty)
    }

    @Test func aStaleInboxReadNamingAfterIsAnsweredBeforeTheHandlerReturns() throws {
        let answer = try #require(start(HTTPRequest(
            method: "GET", path: "/v1/inbox", query: [("consistency", "stale"), ("wait", "5"), ("after", "0")],
            headers: ["authorization": "Bearer token-bob"])))
        let response = try #require(answer.response, "a stale read with a message waiting went to a task")
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains("waiting"))
    }

    @Test func anInboxReadWithoutAfterStartsAtTheAcknowledgedPosition() async throws {
        let answer = try #require(start(HTTPRequest(
            method: "GET", path: "/v1/inbox", query: [("consistency", "stale")], headers: ["authorization": "Bearer token-bob"])))
        let response = try #require(await answer.arrival())
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains("waiting"))
    }

    @Test func aClosedSessionLeavesTheTableWithItsCommit() throws {
        let changes = SessionChanges()
        _ = try database.write { db in
            try ChatStateMachine().apply(
                .closeSession(.init(tokenHash: SessionToken.hash("token-alice"))),
                to: SQLiteChatStore(db: db, sessionChanges: changes))
        }
        #expect(database.sessions.entry(forTokenHash: SessionToken.hash("token-alice")) != nil, "changed before its commit was applied")
        database.sessions.apply(changes)
        #expect(database.sessions.entry(forTokenHash: SessionToken.hash("token-alice")) == nil)
        let answer = try #require(start(send(#"{"to":"bob","body":"hi"}"#, token: "token-alice")))
        #expect(replicator.commands.isEmpty, "a send with a closed session was submitted at once")
        _ = answer
    }

    @Test func tokenHashesAreLowerCaseHexadecimalSHA256() {
        // Sessions on disk are keyed by this text: its form must never change.
        #expect(SessionToken.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
