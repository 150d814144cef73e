import Foundation
import GRDB
import Testing
@testable import Gateway

/// `DirectStatement` stores and reads values exactly as GRDB would, and fails as GRDB would.
@Suite struct DirectStatementTests {
    func makeQueue() throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE item (name TEXT NOT NULL UNIQUE, number INTEGER NOT NULL, bytes BLOB NOT NULL)")
        }
        return queue
    }

    func insert(_ name: String, _ number: Int64, _ bytes: [UInt8], in db: Database) throws {
        try db.withDirectStatement("INSERT INTO item (name, number, bytes) VALUES (?, ?, ?)") { statement in
            try statement.bind(name, at: 1)
            try statement.bind(number, at: 2)
            try statement.bind(bytes, at: 3)
            try statement.execute()
        }
    }

    @Test(arguments: ["", "ann", "a\u{0}b", "żółw 🐢", "tab\there"])
    func textIsStoredWholeAndReadBackWhole(text: String) throws {
        let queue = try makeQueue()
        try queue.write { db in
            try insert(text, 1, [1], in: db)
            let stored = try Row.fetchOne(db, sql: "SELECT typeof(name), length(CAST(name AS BLOB)) FROM item")
            let type: String? = stored?[0]
            let length: Int? = stored?[1]
            #expect(type == "text", "text was not bound as TEXT")
            #expect(length == text.utf8.count, "text lost bytes on the way in")
            let read = try db.withDirectStatement("SELECT name FROM item") { statement in
                try statement.stepToRow() ? statement.text(at: 0) : nil
            }
            #expect(read == text, "text lost bytes on the way out")
        }
    }

    @Test func integersKeepAllSixtyFourBits() throws {
        let queue = try makeQueue()
        try queue.write { db in
            try insert("min", .min, [1], in: db)
            try insert("max", .max, [1], in: db)
            let read = try db.withDirectStatement("SELECT number FROM item WHERE name = ?") { statement in
                try statement.bind("min", at: 1)
                return try statement.stepToRow() ? statement.int64(at: 0) : nil
            }
            #expect(read == .min)
            #expect(try Int64.fetchOne(db, sql: "SELECT number FROM item WHERE name = 'max'") == .max)
        }
    }

    @Test func emptyBytesBindAnEmptyBlobNeverNull() throws {
        let queue = try makeQueue()
        try queue.write { db in
            try insert("empty", 1, [], in: db)
            try insert("some", 2, [0, 255, 7], in: db)
            #expect(try String.fetchOne(db, sql: "SELECT typeof(bytes) FROM item WHERE name = 'empty'") == "blob")
            #expect(try Data.fetchOne(db, sql: "SELECT bytes FROM item WHERE name = 'some'") == Data([0, 255, 7]))
        }
    }

    @Test func aQueryWithoutRowsSteppedIsFalse() throws {
        let queue = try makeQueue()
        let found = try queue.read { db in
            try db.withDirectStatement("SELECT name FROM item WHERE number = ?") { statement in
                try statement.bind(9, at: 1)
                return try statement.stepToRow()
            }
        }
        #expect(!found)
    }

    @Test func aFailedStepThrowsSQLitesCodeAndLeavesTheStatementReusable() throws {
        let queue = try makeQueue()
        try queue.write { db in
            try insert("ann", 1, [1], in: db)
            #expect {
                try insert("ann", 2, [1], in: db)
            } throws: { error in
                (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT
            }
            try insert("bob", 3, [1], in: db)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM item") == 2)
        }
    }

    @Test func aFullDatabaseFailsAsRetryable() throws {
        let queue = try makeQueue()
        // Outside a transaction: SQLite rolls back the one a full database interrupts.
        try queue.inDatabase { db in
            try db.execute(sql: "PRAGMA max_page_count = \(try Int.fetchOne(db, sql: "PRAGMA page_count")! + 2)")
            var failure: (any Error)?
            do {
                for number in 0..<100 { try insert("item \(number)", Int64(number), Array(repeating: 1, count: 4096), in: db) }
            } catch {
                failure = error
            }
            #expect((failure as? DatabaseError)?.resultCode == .SQLITE_FULL, "no SQLITE_FULL: \(String(describing: failure))")
            #expect(failure.map(StorageFailure.isRetryable) == true, "a full disk would stop the replica")
        }
    }

    /// A read that stops at its first row must not stay active: an active statement keeps
    /// its table locked and, on a pool reader, its snapshot open.
    @Test func aReadThatStopsEarlyIsResetOnTheWayOut() throws {
        let queue = try makeQueue()
        try queue.write { db in
            try insert("ann", 1, [1], in: db)
            try insert("bob", 2, [1], in: db)
            _ = try db.withDirectStatement("SELECT name FROM item ORDER BY name") { try $0.stepToRow() }
            try db.execute(sql: "DROP TABLE item")
        }
    }

    @Test func aStatementResetInsideItsBlockRunsAgain() throws {
        let queue = try makeQueue()
        try queue.write { db in
            try db.withDirectStatement("INSERT INTO item (name, number, bytes) VALUES (?, ?, ?)") { statement in
                for number in 1...3 as ClosedRange<Int64> {
                    try statement.bind("item \(number)", at: 1)
                    try statement.bind(number, at: 2)
                    try statement.bind([UInt8(number)], at: 3)
                    try statement.execute()
                    statement.reset()
                }
            }
            #expect(try Int64.fetchAll(db, sql: "SELECT number FROM item ORDER BY number") == [1, 2, 3])
        }
    }
}
