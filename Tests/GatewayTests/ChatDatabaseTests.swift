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
        try expectStoresAgree(seed: seed) { commands in [commands[...]] }
    }

    /// The same agreement when the commands come in transactions of many sizes, as the driver's
    /// batches do: what one transaction keeps in memory must be in SQLite when the next begins.
    @Test(arguments: [7, 8, 9] as [UInt64])
    func sqliteAndMemoryStoresAgreeOverManyTransactions(seed: UInt64) throws {
        try expectStoresAgree(seed: seed) { commands in
            var transactions: [ArraySlice<ChatCommand>] = []
            var start = 0
            while start < commands.count {
                let end = min(commands.count, start + 1 + (start * 7 + Int(seed)) % 17)
                transactions.append(commands[start..<end])
                start = end
            }
            return transactions
        }
    }

    /// Applies 400 random commands to the in-memory store, and to SQLite in the transactions
    /// `split` makes of them; both must give the same results and end in the same state.
    private func expectStoresAgree(
        seed: UInt64, split: ([ChatCommand]) -> [ArraySlice<ChatCommand>]
    ) throws {
        let commands = randomChatCommands(count: 400, seed: seed)
        let (database, _) = try makeDatabase()
        let memory = InMemoryChatStore()
        let machine = ChatStateMachine()
        let expected = try commands.map { try machine.apply($0, to: memory) }
        let actual = try split(commands).flatMap { try database.apply(Array($0)) }
        #expect(actual == expected)
        try expectSameState(database, memory)
    }

    private func expectSameState(_ database: ChatDatabase, _ memory: InMemoryChatStore) throws {
        let accounts = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT key, last_seq, acked_seq FROM account ORDER BY key")
                .map { "\($0[0] as String):\($0[1] as Int64)/\($0[2] as Int64)" }
        }
        #expect(accounts == memory.accounts.keys.sorted().map { "\($0):\(memory.accounts[$0]!.lastSeq)/\(memory.accounts[$0]!.ackedSeq)" },
                "the stores disagree on inbox positions")
        let inboxes = try database.read { db in
            try memory.accounts.keys.sorted().map { key in
                try ChatQueries.messages(forAccount: key, after: 0, limit: 1000, in: db)
            }
        }
        #expect(inboxes == memory.accounts.keys.sorted().map { memory.inboxes[$0] ?? [] })
        let sessions = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT token_hash, last_used_at FROM session ORDER BY token_hash")
                .map { "\($0[0] as String)@\($0[1] as Int64)" }
        }
        #expect(sessions == memory.sessions.values.sorted { $0.tokenHash < $1.tokenHash }
            .map { "\($0.tokenHash)@\($0.lastUsedAtMillis)" }, "the stores disagree on sessions and their last use")
    }

    @Test func aCommitThatNeedNotWaitForTheDiskLeavesTheWriterAtSynchronousFull() throws {
        let (database, directory) = try makeDatabase()
        try database.write(durably: false) { try ReplicaStateTable.set(.appliedIndex, to: 3, in: $0) }
        #expect(try database.synchronousMode() == 2, "only that one commit may skip the fsync")
        #expect(try ChatDatabase(directory: directory).read { try ReplicaStateTable.get(.appliedIndex, in: $0) } == 3)
    }

    @Test func aStateFileInstallsExactlyTheSameStateAndItsAppliedIndex() throws {
        let (source, sourceDirectory) = try makeDatabase()
        _ = try source.apply(randomChatCommands(count: 300, seed: 11), appliedIndex: 42)
        let file = sourceDirectory.appendingPathComponent("state-copy.sqlite")
        try source.copy(to: file)
        let (target, _) = try makeDatabase()
        _ = try target.apply([.createAccount(.init(username: "stale", passwordHash: "h", createdAtMillis: 1))])
        let applied = try target.writeWithoutTransaction { db in
            try StateFile.withAttached(file, to: db) {
                var applied: Int64 = 0
                try db.inTransaction {
                    applied = try StateFile.replaceChatState(in: db)
                    return .commit
                }
                return applied
            }
        }
        let original = try source.read { try ChatStateDump.read(from: $0) }
        #expect(try target.read { try ChatStateDump.read(from: $0) } == original)
        #expect(applied == 42, "the file tells which index its state stands at")
        #expect(!original.messages.isEmpty && !original.accounts.isEmpty, "the sample state must not be empty")
    }

    @Test func aStateFileCopiesTheStateAsItWasWhenCopied() throws {
        let (source, sourceDirectory) = try makeDatabase()
        _ = try source.apply([.createAccount(.init(username: "ann", passwordHash: "h", createdAtMillis: 1))], appliedIndex: 1)
        let file = sourceDirectory.appendingPathComponent("state-copy.sqlite")
        try source.copy(to: file)
        _ = try source.apply([.createAccount(.init(username: "bob", passwordHash: "h", createdAtMillis: 2))], appliedIndex: 2)
        let copy = try DatabaseQueue(path: file.path)
        #expect(try copy.read { try String.fetchAll($0, sql: "SELECT key FROM account") } == ["ann"])
    }

    @Test func theAppliedIndexCommitsWithTheCommands() throws {
        let (database, directory) = try makeDatabase()
        _ = try database.apply([.createAccount(.init(username: "ann", passwordHash: "h", createdAtMillis: 1))], appliedIndex: 7)
        let reopened = try ChatDatabase(directory: directory)
        #expect(try reopened.read { try ReplicaStateTable.get(.appliedIndex, in: $0) } == 7)
        #expect(try reopened.read { try SQLiteChatStore(db: $0).account(forKey: "ann") } != nil)
    }
}
