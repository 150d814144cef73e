import Foundation
import GRDB
import Testing
@testable import Gateway
@testable import ReplicaCore

@Suite struct SQLiteRaftStorageTests {
    func makeStorage() throws -> (SQLiteRaftStorage, ChatDatabase, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("raftdb-\(UUID().uuidString)")
        let database = try ChatDatabase(directory: directory)
        return (try SQLiteRaftStorage(database: database), database, directory)
    }

    func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [Entry] {
        range.map { Entry(term: Term(term), index: LogIndex($0), data: Array("e\($0)".utf8)) }
    }

    @Test func anEmptyLogStartsAtIndexOne() throws {
        let (storage, _, _) = try makeStorage()
        #expect(storage.firstIndex() == 1)
        #expect(storage.lastIndex() == 0)
        #expect(try storage.term(at: 0) == 0)
    }

    @Test func appendedEntriesAreReadBackInOrder() throws {
        let (storage, database, _) = try makeStorage()
        try database.write { try storage.append(entries(1...5, term: 1), in: $0) }
        #expect(storage.lastIndex() == 5)
        #expect(try storage.entries(in: 2..<5, maxBytes: .max).map(\.index) == [2, 3, 4])
        #expect(try storage.term(at: 5) == 1)
    }

    @Test func entriesStopAtTheByteLimitButReturnAtLeastOne() throws {
        let (storage, database, _) = try makeStorage()
        try database.write { try storage.append(entries(1...5, term: 1), in: $0) }
        #expect(try storage.entries(in: 1..<6, maxBytes: 1).count == 1)
        #expect(try storage.entries(in: 1..<6, maxBytes: 40).count == 2)
    }

    @Test func appendingAtAnEarlierIndexOverwritesTheTail() throws {
        let (storage, database, _) = try makeStorage()
        try database.write { try storage.append(entries(1...5, term: 1), in: $0) }
        try database.write { try storage.append(entries(3...3, term: 2), in: $0) }
        #expect(storage.lastIndex() == 3)
        #expect(try storage.term(at: 3) == 2)
        #expect(throws: RaftStorageError.unavailable) { try storage.term(at: 4) }
    }

    @Test func hardStateLogAndSnapshotSurviveAReopen() throws {
        let (storage, database, directory) = try makeStorage()
        try database.write { db in
            try storage.append(entries(1...20, term: 3), in: db)
            try storage.setHardState(HardState(term: 3, vote: 2, commit: 20), in: db)
            try storage.createSnapshot(at: 15, membership: Membership(voters: [1, 2, 3]), retainedEntries: 5, in: db)
        }
        let reopened = try SQLiteRaftStorage(database: try ChatDatabase(directory: directory))
        #expect(reopened.initialState() == HardState(term: 3, vote: 2, commit: 20))
        #expect(reopened.firstIndex() == 11)
        #expect(reopened.lastIndex() == 20)
        #expect(try reopened.snapshot() == Snapshot(metadata: SnapshotMetadata(index: 15, term: 3, membership: Membership(voters: [1, 2, 3])), data: []))
        #expect(throws: RaftStorageError.compacted) { try reopened.entries(in: 5..<12, maxBytes: .max) }
    }

    @Test func eachChangeOfTermOrVoteSurvivesAReopenWithTheCommitIndexOfItsTime() throws {
        let (storage, database, directory) = try makeStorage()
        let steps = [
            HardState(term: 3, vote: nil, commit: 0),
            HardState(term: 3, vote: 2, commit: 5),     // a vote in the same term
            HardState(term: 4, vote: nil, commit: 20),  // a new term forgets the vote
        ]
        for step in steps {
            try database.write { try storage.setHardState(step, in: $0) }
            let reopened = try SQLiteRaftStorage(database: try ChatDatabase(directory: directory))
            #expect(reopened.initialState() == step)
        }
    }

    @Test func aMoveOfTheCommitIndexAloneWritesNothing() throws {
        let (storage, database, directory) = try makeStorage()
        try database.write { try storage.setHardState(HardState(term: 3, vote: 2, commit: 5), in: $0) }
        try database.write { db in
            let changesBefore = db.totalChangesCount
            try storage.setHardState(HardState(term: 3, vote: 2, commit: 20), in: db)
            #expect(db.totalChangesCount == changesBefore, "a send's transaction wrote the commit index")
        }
        #expect(storage.initialState() == HardState(term: 3, vote: 2, commit: 20), "the storage's own view moves on")
        let reopened = try SQLiteRaftStorage(database: try ChatDatabase(directory: directory))
        #expect(reopened.initialState() == HardState(term: 3, vote: 2, commit: 5),
                "a restart starts from the last commit index written, and relearns the rest")
    }

    @Test func installingASnapshotReplacesTheLog() throws {
        let (storage, database, _) = try makeStorage()
        try database.write { try storage.append(entries(1...5, term: 1), in: $0) }
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: 50, term: 4), data: [])
        try database.write { try storage.installSnapshot(snapshot.metadata, in: $0) }
        #expect(storage.firstIndex() == 51)
        #expect(storage.lastIndex() == 50)
        #expect(try storage.term(at: 50) == 4)
        #expect(try storage.snapshot() == snapshot)
    }

    // The newest entries are also held in memory (`RecentEntries`); these pin what a read
    // returns when the log changed under them.

    @Test func entriesReadAfterAnOverwriteAreTheNewOnes() throws {
        let (storage, database, _) = try makeStorage()
        try database.write { try storage.append(entries(1...5, term: 1), in: $0) }
        try database.write { try storage.append(entries(3...4, term: 2), in: $0) }
        #expect(try storage.entries(in: 1..<5, maxBytes: .max).map(\.term) == [1, 1, 2, 2])
    }

    @Test func entriesOfARolledBackOverwriteAreForgottenByAReload() throws {
        struct Abort: Error {}
        let (storage, database, _) = try makeStorage()
        try database.write { try storage.append(entries(1...5, term: 1), in: $0) }
        #expect(throws: Abort.self) {
            try database.write { db in
                try storage.append(entries(3...3, term: 2), in: db)
                throw Abort()
            }
        }
        try storage.reload()
        #expect(try storage.entries(in: 1..<4, maxBytes: .max) == entries(1...3, term: 1),
                "an entry of the rolled-back transaction was read")
    }

    @Test func entriesAfterAnInstalledSnapshotAreOnlyTheNewOnes() throws {
        let (storage, database, _) = try makeStorage()
        try database.write { try storage.append(entries(1...5, term: 1), in: $0) }
        try database.write { try storage.installSnapshot(SnapshotMetadata(index: 50, term: 4), in: $0) }
        try database.write { try storage.append(entries(51...52, term: 4), in: $0) }
        #expect(try storage.entries(in: 51..<53, maxBytes: .max) == entries(51...52, term: 4))
        #expect(throws: RaftStorageError.compacted) { try storage.entries(in: 5..<52, maxBytes: .max) }
    }

    @Test func readsFromMemoryAnswerExactlyAsReadsFromTheDatabase() throws {
        let (held, heldDatabase, _) = try makeStorage()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("raftdb-\(UUID().uuidString)")
        let unheldDatabase = try ChatDatabase(directory: directory)
        let unheld = try SQLiteRaftStorage(database: unheldDatabase, recentEntries: RecentEntries(maxCount: 0))
        for (storage, database) in [(held, heldDatabase), (unheld, unheldDatabase)] {
            try database.write { try storage.append(entries(1...6, term: 1), in: $0) }
            try database.write { try storage.append(entries(5...9, term: 2), in: $0) }
            try database.write { try storage.append(entries(10...12, term: 2), in: $0) }
        }
        for low in UInt64(1)...13 {
            for high in low...13 {
                for maxBytes in [0, 18, 19, 37, 38, 60, Int.max] {
                    let range = LogIndex(low)..<LogIndex(high)
                    #expect(try held.entries(in: range, maxBytes: maxBytes) == unheld.entries(in: range, maxBytes: maxBytes),
                            "entries(in: \(low)..<\(high), maxBytes: \(maxBytes))")
                }
            }
        }
    }
}
