import Testing
@testable import ReplicaCore

@Suite struct AcknowledgeCommandTests {
    /// Alice with three messages from Bob; returns Alice's token hash.
    func aliceWithThreeMessages(_ chat: ChatFixture) throws -> String {
        let alice = try chat.signedUp("alice")
        let bob = try chat.signedUp("bob")
        for _ in 1...3 { try chat.send(from: bob, to: "alice") }
        return alice
    }

    @Test func ackingDeletesMessagesUpToTheSeq() throws {
        let chat = ChatFixture()
        let alice = try aliceWithThreeMessages(chat)
        #expect(try chat.acknowledge(alice, upTo: 2) == .success(.acknowledged(accountKey: "alice", upTo: 2)))
        #expect(chat.store.inboxes["alice"]?.map(\.seq) == [3])
        #expect(chat.store.account(forKey: "alice")?.ackedSeq == 2)
    }

    @Test func ackingPastTheNewestAcksWhatExists() throws {
        let chat = ChatFixture()
        let alice = try aliceWithThreeMessages(chat)
        #expect(try chat.acknowledge(alice, upTo: 99) == .success(.acknowledged(accountKey: "alice", upTo: 3)))
        #expect(chat.store.inboxes["alice"]?.isEmpty == true)
    }

    @Test func ackingBelowTheCurrentAckChangesNothing() throws {
        let chat = ChatFixture()
        let alice = try aliceWithThreeMessages(chat)
        try chat.acknowledge(alice, upTo: 2)
        #expect(try chat.acknowledge(alice, upTo: 1) == .success(.acknowledged(accountKey: "alice", upTo: 2)))
        #expect(chat.store.inboxes["alice"]?.map(\.seq) == [3])
    }

    @Test func seqsAreNotReusedAfterAnAck() throws {
        let chat = ChatFixture()
        let alice = try aliceWithThreeMessages(chat)
        try chat.acknowledge(alice, upTo: 3)
        let bob = "token-bob-\(chat.clock - 3)"
        #expect(try chat.send(from: bob, to: "alice").sentMessage?.seq == 4)
    }

    @Test func aNewMessageKeepsWhatWasAcknowledged() throws {
        let chat = ChatFixture()
        let alice = try aliceWithThreeMessages(chat)
        try chat.acknowledge(alice, upTo: 2)
        let bob = "token-bob-\(chat.clock - 3)"
        try chat.send(from: bob, to: "alice")
        #expect(chat.store.account(forKey: "alice")?.ackedSeq == 2, "the acknowledgement survived a delivery")
        #expect(try chat.acknowledge(alice, upTo: 0) == .success(.acknowledged(accountKey: "alice", upTo: 2)))
    }

    @Test func ackingWithoutASessionIsUnauthorized() throws {
        let chat = ChatFixture()
        #expect(try chat.acknowledge("nope", upTo: 1).rejection == .unauthorized)
    }
}
