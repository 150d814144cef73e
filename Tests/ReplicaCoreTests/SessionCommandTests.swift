import Testing
@testable import ReplicaCore

@Suite struct SessionCommandTests {
    @Test func openingASessionWithTheVerifiedHashSucceeds() throws {
        let chat = ChatFixture()
        try chat.createAccount("Alice", passwordHash: "h1")
        let result = try chat.apply(.openSession(.init(
            username: "alice", verifiedPasswordHash: "h1", tokenHash: "t1", createdAtMillis: 5)))
        #expect(result == .success(.sessionOpened(username: "Alice")))
        #expect(chat.store.session(forTokenHash: "t1")?.accountKey == "alice")
    }

    @Test func openingASessionAfterThePasswordHashChangedIsRefused() throws {
        let chat = ChatFixture()
        try chat.createAccount("alice", passwordHash: "new")
        let result = try chat.apply(.openSession(.init(
            username: "alice", verifiedPasswordHash: "old", tokenHash: "t1", createdAtMillis: 5)))
        #expect(result.rejection == .invalidCredentials)
        #expect(chat.store.sessions.isEmpty)
    }

    @Test func openingASessionForAnUnknownUserIsInvalidCredentials() throws {
        let chat = ChatFixture()
        let result = try chat.apply(.openSession(.init(
            username: "ghost", verifiedPasswordHash: "h", tokenHash: "t1", createdAtMillis: 5)))
        #expect(result.rejection == .invalidCredentials)
    }

    @Test func closingASessionRevokesOnlyThatToken() throws {
        let chat = ChatFixture()
        let first = try chat.signedUp("alice")
        try chat.apply(.openSession(.init(
            username: "alice", verifiedPasswordHash: "hash-alice", tokenHash: "second", createdAtMillis: 9)))
        #expect(try chat.apply(.closeSession(.init(tokenHash: first))) == .success(.sessionClosed(accountKey: "alice", tokenHash: first)))
        #expect(chat.store.session(forTokenHash: first) == nil)
        #expect(chat.store.session(forTokenHash: "second") != nil)
    }

    @Test func closingAnUnknownSessionIsUnauthorized() throws {
        let chat = ChatFixture()
        #expect(try chat.apply(.closeSession(.init(tokenHash: "nope"))).rejection == .unauthorized)
    }
}
