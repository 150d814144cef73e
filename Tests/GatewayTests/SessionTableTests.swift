import Foundation
import Testing
@testable import Gateway
import ReplicaCore

/// The in-memory session table follows the session rows the applier writes.
@Suite struct SessionTableTests {
    @Test func theTableFollowsEveryKindOfSessionWrite() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sessions-\(UUID().uuidString)")
        let database = try ChatDatabase(directory: directory)
        let machine = ChatStateMachine()
        let changes = SessionChanges()
        try database.write { db in
            let store = SQLiteChatStore(db: db, sessionChanges: changes)
            for name in ["alice", "bob", "carol"] {
                _ = try machine.apply(.createAccount(.init(username: name, passwordHash: "h", createdAtMillis: 1)), to: store)
            }
            for (name, token, at) in [("alice", "t-alice", 10), ("alice", "t-alice2", 20), ("bob", "t-bob", 10), ("carol", "t-carol", 45)] {
                _ = try machine.apply(.openSession(.init(
                    username: name, verifiedPasswordHash: "h", tokenHash: token, createdAtMillis: Int64(at))), to: store)
            }
            _ = try machine.apply(.touchSessions(.init(tokenHashes: ["t-bob", "t-alice2"], atMillis: 50)), to: store)
            _ = try machine.apply(.closeSession(.init(tokenHash: "t-alice2")), to: store)
            _ = try machine.apply(.deleteAccount(.init(tokenHash: "t-carol", username: "carol")), to: store)
            _ = try machine.apply(.expireSessions(.init(unusedBeforeMillis: 40)), to: store)
            _ = try machine.apply(.openSession(.init(
                username: "alice", verifiedPasswordHash: "h", tokenHash: "t-alice3", createdAtMillis: 60)), to: store)
        }
        database.sessions.apply(changes)
        let reread = SessionTable()
        try database.read { try reread.reload(from: $0) }
        #expect(database.sessions.all == reread.all, "kept \(database.sessions.all), the rows say \(reread.all)")
        #expect(Set(reread.all.keys) == ["t-bob", "t-alice3"], "the writes above should leave exactly these")
        for (account, tokens) in [("alice", ["t-alice3"]), ("bob", ["t-bob"]), ("carol", [])] {
            #expect(database.sessions.leastRecentlyUsed(ofAccount: account, keeping: 0) == tokens, "\(account)'s sessions")
            #expect(reread.leastRecentlyUsed(ofAccount: account, keeping: 0) == tokens, "\(account)'s sessions, read again")
        }
    }

    @Test func theSessionsToCloseAreTheLeastRecentlyUsedBeyondTheLimit() {
        let table = SessionTable()
        let changes = SessionChanges()
        for (token, created) in [("t-a", 10), ("t-b", 20), ("t-c", 30), ("t-d", 20)] {
            changes.record(.inserted(SessionRecord(tokenHash: token, accountKey: "alice", createdAtMillis: Int64(created))))
        }
        changes.record(.inserted(SessionRecord(tokenHash: "t-bob", accountKey: "bob", createdAtMillis: 1)))
        for (token, used) in [("t-a", 60), ("t-b", 50), ("t-c", 50), ("t-d", 50)] {
            changes.record(.touched(tokenHash: token, millis: Int64(used)))
        }
        table.apply(changes)
        #expect(table.leastRecentlyUsed(ofAccount: "alice", keeping: 4) == [], "within the limit, nothing closes")
        #expect(table.leastRecentlyUsed(ofAccount: "alice", keeping: 3) == ["t-b"], "the least recently used, ties by token")
        #expect(table.leastRecentlyUsed(ofAccount: "alice", keeping: 1) == ["t-b", "t-c", "t-d"], "a use counts, not the login")
        #expect(table.leastRecentlyUsed(ofAccount: "nobody", keeping: 0) == [])
    }

    @Test func sessionsNeverUsedSinceTheirLoginCloseBeforeUsedOnes() {
        // A client that logs in again and again leaves sessions like t-new behind; t-phone's
        // last use is recorded coarsely, so it may look older than it is.
        let table = SessionTable()
        let changes = SessionChanges()
        changes.record(.inserted(SessionRecord(tokenHash: "t-phone", accountKey: "alice", createdAtMillis: 10)))
        changes.record(.touched(tokenHash: "t-phone", millis: 20))
        for (token, created) in [("t-new2", 40), ("t-new1", 30)] {
            changes.record(.inserted(SessionRecord(tokenHash: token, accountKey: "alice", createdAtMillis: Int64(created))))
        }
        table.apply(changes)
        #expect(table.leastRecentlyUsed(ofAccount: "alice", keeping: 1) == ["t-new1", "t-new2"])
    }

    @Test func aSessionInsertedAgainMovesToItsNewAccount() {
        let table = SessionTable()
        let changes = SessionChanges()
        changes.record(.inserted(SessionRecord(tokenHash: "t", accountKey: "alice", createdAtMillis: 1)))
        changes.record(.inserted(SessionRecord(tokenHash: "t", accountKey: "bob", createdAtMillis: 2)))
        table.apply(changes)
        #expect(table.leastRecentlyUsed(ofAccount: "alice", keeping: 0) == [])
        #expect(table.leastRecentlyUsed(ofAccount: "bob", keeping: 0) == ["t"])
    }

    @Test func aReopenedDatabaseStartsWithItsSessions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sessions-\(UUID().uuidString)")
        _ = try ChatDatabase(directory: directory).apply([
            .createAccount(.init(username: "alice", passwordHash: "h", createdAtMillis: 1)),
            .openSession(.init(username: "alice", verifiedPasswordHash: "h", tokenHash: "t-alice", createdAtMillis: 5)),
        ])
        let reopened = try ChatDatabase(directory: directory)
        #expect(reopened.sessions.entry(forTokenHash: "t-alice") == .init(accountKey: "alice", lastUsedAtMillis: 5, createdAtMillis: 5))
    }
}
