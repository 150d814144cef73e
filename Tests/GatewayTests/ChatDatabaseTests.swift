import ChatTestSupport
import Foundation
import GRDB
import Testing
@testable import Gateway
@testable import ReplicaCore

@Suite struct ChatDatabaseTests {
    func makeDatabase() throws -> (ChatDatabase, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatdb-\(UUID().uuidString)")
        return (try ChatDatabase(directory: directory), directory)
    }

    @Test func theWriterRunsWithSynchronousFullEvenAfterWrites() throws {
        let (database, _) = try makeDatabase()
        #expect(try database.synchronousMode() == 2, "GRDB must not leave WAL at synchronous=NORMAL")
        _ = try database.apply([.createAccount(.init(username: "ann", passwordHash: "h", createdAtMillis: 1))])
        #expect(try database.synchronousMode() == 2)
    }

    @Test func theDatabaseRunsInWALMode() throws {
        let (database, _) = try makeDatabase()
        let mode = try database.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    /// SQLite and the in-memory store must agree on every result, or replicas could diverge
    /// depending on which store a test used.
    @Test(arguments: [7, 8, 9] as [UInt64])
    func sqliteAndMemoryStoresGiveTheSameResults(seed: UInt64) throws {
        let commands = randomChatCommands(count: 400, seed: seed)
        let (database, _) = try makeDatabase()
        let memory = InMemoryChatStore()
        let machine = ChatStateMachine()
        let expected = try commands.map { try machine.apply($0, to: memory) }
        let actual = try database.apply(commands)
        #expect(actual == expected)
        let inboxes = try database.read { db in
            try memory.accounts.keys.sorted().map { key in
                try ChatQueries.messages(forAccount: key, after: 0, limit: 1000, in: db)
            }
        }
        #expect(inboxes == memory.accounts.keys.sorted().map { memory.inboxes[$0] ?? [] })
    }

    @Test func aStateSnapshotRestoresExactlyTheSameState() throws {
        let (source, _) = try makeDatabase()
        _ = try source.apply(randomChatCommands(count: 300, seed: 11))
        let exported = try source.read { try ChatStateSnapshot.export(from: $0) }
        let (target, _) = try makeDatabase()
        _ = try target.apply([.createAccount(.init(username: "stale", passwordHash: "h", createdAtMillis: 1))])
        try target.write { try ChatStateSnapshot.restore(exported, into: $0) }
        let reExported = try target.read { try ChatStateSnapshot.export(from: $0) }
        let original = try JSONDecoder().decode(ChatStateSnapshot.self, from: Data(exported))
        let restored = try JSONDecoder().decode(ChatStateSnapshot.self, from: Data(reExported))
        #expect(restored == original)
        #expect(!original.messages.isEmpty && !original.accounts.isEmpty, "the sample state must not be empty")
    }

    @Test func theAppliedIndexCommitsWithTheCommands() throws {
        let (database, directory) = try makeDatabase()
        _ = try database.apply([.createAccount(.init(username: "ann", passwordHash: "h", createdAtMillis: 1))], appliedIndex: 7)
        let reopened = try ChatDatabase(directory: directory)
        #expect(try reopened.read { try ReplicaStateTable.get(.appliedIndex, in: $0) } == 7)
        #expect(try reopened.read { try SQLiteChatStore(db: $0).account(forKey: "ann") } != nil)
    }
}
