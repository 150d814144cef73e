import Foundation
import Testing

@Suite struct InboxEndpointTests {
    /// Bob with `count` messages from Alice, numbered "m1"….
    func bobWithMessages(_ count: Int) async throws -> (alice: ChatUser, bob: ChatUser) {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let bob = try await ChatUser.register(uniqueName("b"), at: base)
        for index in 1...max(count, 1) where count > 0 {
            _ = try await alice.send(to: bob.username, "m\(index)")
        }
        return (alice, bob)
    }

    @Test func theInboxListsMessagesInSeqOrder() async throws {
        let (_, bob) = try await bobWithMessages(3)
        let inbox = try await bob.inbox()
        #expect(inbox.status == 200)
        #expect(inbox.bodies == ["m1", "m2", "m3"])
        #expect(inbox.messages.compactMap { $0["seq"] as? Int } == [1, 2, 3])
        #expect(inbox.json["next_after"] as? Int == 3)
    }

    @Test func afterAndLimitSelectAWindow() async throws {
        let (_, bob) = try await bobWithMessages(5)
        let inbox = try await bob.inbox("after=1&limit=2")
        #expect(inbox.bodies == ["m2", "m3"])
        #expect(inbox.json["next_after"] as? Int == 3)
    }

    @Test func anEmptyInboxAnswersNextAfterEqualToAfter() async throws {
        let (_, bob) = try await bobWithMessages(2)
        let inbox = try await bob.inbox("after=2")
        #expect(inbox.messages.isEmpty)
        #expect(inbox.json["next_after"] as? Int == 2)
    }

    @Test func ackingDeletesUpToTheSeqAndMovesTheDefaultAfter() async throws {
        let (_, bob) = try await bobWithMessages(3)
        let acked = try await bob.ack(upTo: 2)
        #expect(acked.status == 200)
        #expect(acked.json["acked_up_to"] as? Int == 2)
        #expect(try await bob.inbox().bodies == ["m3"])
        #expect(try await bob.inbox("after=0").bodies == ["m3"], "acked messages are deleted for good")
    }

    @Test func ackingPastTheNewestAcksWhatExistsAndBelowChangesNothing() async throws {
        let (_, bob) = try await bobWithMessages(2)
        #expect(try await bob.ack(upTo: 100).json["acked_up_to"] as? Int == 2)
        #expect(try await bob.ack(upTo: 1).json["acked_up_to"] as? Int == 2)
    }

    @Test(arguments: [#"{"up_to": -1}"#, #"{"up_to": "3"}"#, #"{"up_to": 1.5}"#, #"{"upto": 3}"#])
    func ackingWithABadBodyIs400(_ body: String) async throws {
        let (_, bob) = try await bobWithMessages(1)
        let response = try await TestClient.shared.request(
            .POST, "\(bob.baseURL)/v1/inbox/ack", token: bob.token, rawBody: Array(body.utf8))
        #expect(response.status == 400, "\(body) answered \(response.status)")
        #expect(try await bob.inbox().bodies == ["m1"])
    }

    @Test(arguments: ["wait=61", "wait=-1", "after=-1", "limit=0", "limit=1001", "after=x"])
    func outOfRangeQueryValuesAre400(_ query: String) async throws {
        let (_, bob) = try await bobWithMessages(0)
        let response = try await bob.inbox(query)
        #expect(response.status == 400, "\(query) answered \(response.status)")
        #expect(response.errorCode == "invalid_request")
    }

    @Test func aLongPollWithNothingToSayEndsEmptyAfterTheWait() async throws {
        let (_, bob) = try await bobWithMessages(0)
        let started = ContinuousClock.now
        let response = try await bob.inbox("wait=1")
        #expect(response.status == 200)
        #expect(response.messages.isEmpty)
        #expect(ContinuousClock.now - started >= .milliseconds(900))
    }
}
