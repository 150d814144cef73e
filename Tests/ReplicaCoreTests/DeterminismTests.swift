import ChatTestSupport
import Testing
@testable import ReplicaCore

@Suite struct DeterminismTests {
    /// The property replication rests on: the same commands in the same order give the same state.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func replayingTheSameCommandsGivesTheSameState(seed: UInt64) throws {
        let commands = randomChatCommands(count: 500, seed: seed)
        let first = ChatFixture()
        let second = ChatFixture()
        let firstResults = try commands.map { try first.apply($0) }
        let secondResults = try commands.map { try second.apply($0) }
        #expect(firstResults == secondResults)
        #expect(first.store.accounts == second.store.accounts)
        #expect(first.store.sessions == second.store.sessions)
        #expect(first.store.inboxes == second.store.inboxes)
        #expect(first.store.idempotencyRecords == second.store.idempotencyRecords)
        #expect(firstResults.contains { (try? $0.get()) != nil }, "the sample must include successes")
        #expect(firstResults.contains { $0.rejection != nil }, "the sample must include rejections")
    }
}
