import Foundation
import GRDB
import Testing
@testable import Gateway
import ReplicaCore

/// The applying transaction's store keeps rows in memory and writes inbox positions at its end.
@Suite struct TransactionChatStoreTests {
    func makeDatabase() throws -> ChatDatabase {
        try ChatDatabase(directory: FileManager.default.temporaryDirectory.appendingPathComponent("txstore-\(UUID().uuidString)"))
    }

    func makeDatabaseWithBob() throws -> ChatDatabase {
        let database = try makeDatabase()
        try database.write { db in
            try SQLiteChatStore(db: db).insertAccount(AccountRecord(username: "bob", passwordHash: "h", createdAtMillis: 1))
        }
        return database
    }

    /// Runs `body` with a store of one applying transaction (and its connection, for raw reads),
    /// then `afterwards` in the same SQLite transaction, once the store has written what it kept.
    func apply(
        in database: ChatDatabase, _ body: (TransactionChatStore, Database) throws -> Void,
        afterwards: (Database) throws -> Void = { _ in }
    ) throws {
        try database.write { db in
            try TransactionChatStore.applying(over: SQLiteChatStore(db: db)) { try body($0, db) }
            try afterwards(db)
        }
    }

    func storedInbox(_ key: String, in db: Database) throws -> String? {
        try Row.fetchOne(db, sql: "SELECT last_seq, acked_seq FROM account WHERE key = ?", arguments: [key])
            .map { "\($0[0] as Int64)/\($0[1] as Int64)" }
    }

    @Test func anInboxPositionReachesSQLiteWhenTheTransactionFinishes() throws {
        try apply(in: try makeDatabaseWithBob()) { store, db in
            _ = try store.account(forKey: "bob")
            try store.updateInbox(ofAccount: "bob", lastSeq: 5, ackedSeq: 2)
            #expect(try store.account(forKey: "bob")?.lastSeq == 5, "the store did not answer with its own write")
            #expect(try storedInbox("bob", in: db) == "0/0", "the position was written before the end")
        } afterwards: { db in
            let stored = try storedInbox("bob", in: db)
            #expect(stored == "5/2", "the position was not written at the end")
        }
    }

    @Test func aDeletedAccountsUnwrittenPositionIsNotWrittenOverItsSuccessor() throws {
        try apply(in: try makeDatabaseWithBob()) { store, _ in
            _ = try store.account(forKey: "bob")
            try store.updateInbox(ofAccount: "bob", lastSeq: 9, ackedSeq: 9)
            try store.deleteAccount(forKey: "bob")
            #expect(try store.account(forKey: "bob") == nil, "a deleted account was still answered")
            try store.insertAccount(AccountRecord(username: "Bob", passwordHash: "h2", createdAtMillis: 2))
        } afterwards: { db in
            let stored = try storedInbox("bob", in: db)
            #expect(stored == "0/0", "the deleted account's position reached the new one")
        }
    }

    @Test func aTouchKeepsTheLaterUseAsTheUpdateDoes() throws {
        try apply(in: try makeDatabase()) { store, db in
            try store.insertSession(SessionRecord(tokenHash: "t", accountKey: "bob", createdAtMillis: 1, lastUsedAtMillis: 50))
            try store.touchSession(tokenHash: "t", atMillis: 40)
            #expect(try store.session(forTokenHash: "t")?.lastUsedAtMillis == 50, "an earlier use replaced a later one")
            try store.touchSession(tokenHash: "t", atMillis: 60)
            #expect(try store.session(forTokenHash: "t")?.lastUsedAtMillis == 60)
            #expect(try SQLiteChatStore(db: db).session(forTokenHash: "t")?.lastUsedAtMillis == 60)
        }
    }

    @Test func sessionsDeletedInBulkAreNotAnsweredFromMemory() throws {
        try apply(in: try makeDatabase()) { store, _ in
            try store.insertSession(SessionRecord(tokenHash: "a", accountKey: "bob", createdAtMillis: 1, lastUsedAtMillis: 10))
            try store.insertSession(SessionRecord(tokenHash: "b", accountKey: "ann", createdAtMillis: 1, lastUsedAtMillis: 10))
            try store.deleteSessions(ofAccount: "bob")
            #expect(try store.session(forTokenHash: "a") == nil, "a session of a deleted account was answered")
            #expect(try store.session(forTokenHash: "b") != nil)
            try store.deleteSessions(unusedBefore: 11)
            #expect(try store.session(forTokenHash: "b") == nil, "an expired session was answered")
        }
    }
}
