import Testing
@testable import ReplicaCore

@Suite struct SessionExpiryCommandTests {
    @Test func aNewSessionCountsAsUsedWhenItOpens() throws {
        let chat = ChatFixture()
        let token = try chat.signedUp("alice")
        #expect(chat.store.session(forTokenHash: token)?.lastUsedAtMillis == chat.clock)
    }

    @Test func touchingRecordsALaterUse() throws {
        let chat = ChatFixture()
        let token = try chat.signedUp("alice")
        try chat.apply(.touchSessions(.init(tokenHashes: [token], atMillis: chat.clock + 500)))
        #expect(chat.store.session(forTokenHash: token)?.lastUsedAtMillis == chat.clock + 500)
    }

    @Test func touchingNeverMovesTheLastUseBack() throws {
        let chat = ChatFixture()
        let token = try chat.signedUp("alice")
        try chat.apply(.touchSessions(.init(tokenHashes: [token], atMillis: chat.clock + 500)))
        try chat.apply(.touchSessions(.init(tokenHashes: [token], atMillis: chat.clock + 100)))
        #expect(chat.store.session(forTokenHash: token)?.lastUsedAtMillis == chat.clock + 500,
                "a touch that arrives late must not shorten the session's life")
    }

    @Test func touchingAClosedSessionDoesNotBringItBack() throws {
        let chat = ChatFixture()
        let token = try chat.signedUp("alice")
        try chat.apply(.closeSession(.init(tokenHash: token)))
        #expect(try chat.apply(.touchSessions(.init(tokenHashes: [token], atMillis: chat.clock + 1))) == .success(.sessionsTouched))
        #expect(chat.store.sessions.isEmpty)
    }

    @Test func expiringRemovesOnlySessionsUnusedBeforeTheCutoff() throws {
        let chat = ChatFixture()
        let stale = try chat.signedUp("alice")
        chat.clock += 1_000
        let fresh = try chat.signedUp("bob")
        try chat.apply(.expireSessions(.init(unusedBeforeMillis: chat.clock)))
        #expect(chat.store.session(forTokenHash: stale) == nil, "a session unused before the cutoff must go")
        #expect(chat.store.session(forTokenHash: fresh) != nil, "a session used at the cutoff must stay")
    }

    @Test func aTouchedSessionSurvivesExpiry() throws {
        let chat = ChatFixture()
        let token = try chat.signedUp("alice")
        try chat.apply(.touchSessions(.init(tokenHashes: [token], atMillis: chat.clock + 1_000)))
        try chat.apply(.expireSessions(.init(unusedBeforeMillis: chat.clock + 1_000)))
        #expect(chat.store.session(forTokenHash: token) != nil)
    }

    @Test func anExpiredSessionCanNoLongerSend() throws {
        let chat = ChatFixture()
        let token = try chat.signedUp("alice")
        try chat.apply(.expireSessions(.init(unusedBeforeMillis: chat.clock + 1)))
        #expect(try chat.send(from: token, to: "alice").rejection == .unauthorized)
    }
}
