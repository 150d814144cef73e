import Testing
@testable import ReplicaCore

@Suite struct MessageCommandTests {
    @Test func seqIsPerInboxAndStrictlyIncreasing() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        _ = try chat.signedUp("bob")
        _ = try chat.signedUp("carol")
        #expect(try chat.send(from: alice, to: "bob").sentMessage?.seq == 1)
        #expect(try chat.send(from: alice, to: "bob").sentMessage?.seq == 2)
        #expect(try chat.send(from: alice, to: "carol").sentMessage?.seq == 1)
    }

    @Test func aMessageCarriesTheSpellingsOfBothAccounts() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("Alice")
        _ = try chat.signedUp("Bob")
        let message = try #require(try chat.send(from: alice, to: "BOB", body: "hi").sentMessage)
        #expect(message.sender == "Alice")
        #expect(message.recipient == "Bob")
        #expect(message.body == "hi")
    }

    @Test func sendingToAnUnknownUserIsRefusedAndChangesNothing() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        #expect(try chat.send(from: alice, to: "ghost", key: "k").rejection == .noSuchUser)
        #expect(chat.store.idempotencyRecords.isEmpty)
    }

    @Test func sendingWithARevokedSessionIsUnauthorized() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        _ = try chat.signedUp("bob")
        try chat.apply(.closeSession(.init(tokenHash: alice)))
        #expect(try chat.send(from: alice, to: "bob").rejection == .unauthorized)
        #expect(chat.store.inboxes["bob"] == nil)
    }

    @Test func aRetryWithTheSameIdempotencyKeyReturnsTheFirstMessage() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        _ = try chat.signedUp("bob")
        let first = try #require(try chat.send(from: alice, to: "bob", key: "k1").sentMessage)
        let retry = try chat.send(from: alice, to: "bob", key: "k1", id: "another-id")
        #expect(retry == .success(.messageSent(first, isReplay: true)))
        #expect(chat.store.inboxes["bob"]?.count == 1)
    }

    @Test func aReusedKeyWithDifferentContentIsRefused() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        _ = try chat.signedUp("bob")
        try chat.send(from: alice, to: "bob", key: "k1", fingerprint: "a")
        #expect(try chat.send(from: alice, to: "bob", key: "k1", fingerprint: "b").rejection == .idempotencyKeyReused)
        #expect(chat.store.inboxes["bob"]?.count == 1)
    }

    @Test func idempotencyKeysArePerSender() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        let carol = try chat.signedUp("carol")
        _ = try chat.signedUp("bob")
        try chat.send(from: alice, to: "bob", key: "k1")
        let second = try chat.send(from: carol, to: "bob", key: "k1")
        #expect(second.sentMessage?.seq == 2)
    }

    @Test func aKeyOlderThanTheRetentionPeriodStartsAFreshSend() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        _ = try chat.signedUp("bob")
        try chat.send(from: alice, to: "bob", key: "k1")
        chat.clock += ChatStateMachine.idempotencyRetentionMillis + 1
        let later = try chat.send(from: alice, to: "bob", key: "k1", fingerprint: "other")
        #expect(later.sentMessage?.seq == 2)
    }

    @Test func aKeyIsRememberedForTheWholeRetentionPeriod() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        _ = try chat.signedUp("bob")
        try chat.send(from: alice, to: "bob", key: "k1")
        chat.clock += ChatStateMachine.idempotencyRetentionMillis - 10
        #expect(try chat.send(from: alice, to: "bob", key: "k1").sentMessage?.seq == 1)
    }
}
