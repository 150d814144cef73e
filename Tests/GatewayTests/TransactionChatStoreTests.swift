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

    /// A database where bob's account was committed, and a transaction store over it, with
    /// bob's account read (so kept) already.
    func withBobKept(_ body: (TransactionChatStore, Database) throws -> Void) throws {
        let database = try makeDatabase()
        try database.write { db in
            try SQLiteChatStore(db: db).insertAccount(AccountRecord(username: "bob", passwordHash: "h", createdAtMillis: 1))
        }
        try database.write { db in
            let store = TransactionChatStore(SQLiteChatStore(db: db))
            _ = try store.account(forKey: "bob")
            try body(store, db)
        }
    }

    func storedInbox(_ key: String, in db: Database) throws -> String? {
        try Row.fetchOne(db, sql: "SELECT last_seq, acked_seq FROM account WHERE key = ?", arguments: [key])
            .map { "\($0[0] as Int64)/\($0[1] as Int64)" }
    }

    @Test func anInboxPositionReachesSQLiteWhenTheTransactionFinishes() throws {
        try withBobKept { store, db in
            try store.updateInbox(ofAccount: "bob", lastSeq: 5, ackedSeq: 2)
            #expect(try store.account(forKey: "bob")?.lastSeq == 5, "the store did not answer with its own write")
            #expect(try storedInbox("bob", in: db) == "0/0", "the position was written before the end")
            try store.finish()
            #expect(try storedInbox("bob", in: db) == "5/2", "finish did not write the position")
        }
    }

    @Test func aDeletedAccountsUnwrittenPositionIsNotWrittenOverItsSuccessor() throws {
        try withBobKept { store, db in
            try store.updateInbox(ofAccount: "bob", lastSeq: 9, ackedSeq: 9)
            try store.deleteAccount(forKey: "bob")
            #expect(try store.account(forKey: "bob") == nil, "a deleted account was still answered")
            try store.insertAccount(AccountRecord(username: "Bob", passwordHash: "h2", createdAtMillis: 2))
            try store.finish()
            #expect(try storedInbox("bob", in: db) == "0/0", "the deleted account's position reached the new one")
        }
    }

    @Test func aTouchKeepsTheLaterUseAsTheUpdateDoes() throws {
        let database = try makeDatabase()
        try database.write { db in
            let store = TransactionChatStore(SQLiteChatStore(db: db))
            try store.insertSession(SessionRecord(tokenHash: "t", accountKey: "bob", createdAtMillis: 1, lastUsedAtMillis: 50))
            try store.touchSession(tokenHash: "t", atMillis: 40)
            #expect(try store.session(forTokenHash: "t")?.lastUsedAtMillis == 50, "an earlier use replaced a later one")
            try store.touchSession(tokenHash: "t", atMillis: 60)
            #expect(try store.session(forTokenHash: "t")?.lastUsedAtMillis == 60)
            #expect(try SQLiteChatStore(db: db).session(forTokenHash: "t")?.lastUsedAtMillis == 60)
        }
    }

    @Test func sessionsDeletedInBulkAreNotAnsweredFromMemory() throws {
        let database = try makeDatabase()
        try database.write { db in
            let store = TransactionChatStore(SQLiteChatStore(db: db))
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
