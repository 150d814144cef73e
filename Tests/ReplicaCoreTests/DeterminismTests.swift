import Testing
@testable import ReplicaCore

@Suite struct DeterminismTests {
    /// The property replication rests on: the same commands in the same order give the same state.
    @Test func replayingTheSameCommandsGivesTheSameState() throws {
        var generator = SplitMixForTests(seed: 42)
        let commands = randomCommands(count: 400, using: &generator)
        let first = ChatFixture()
        let second = ChatFixture()
        let firstResults = try commands.map { try first.apply($0) }
        let secondResults = try commands.map { try second.apply($0) }
        #expect(firstResults == secondResults)
        #expect(first.store.accounts == second.store.accounts)
        #expect(first.store.sessions == second.store.sessions)
        #expect(first.store.inboxes == second.store.inboxes)
        #expect(first.store.idempotencyRecords == second.store.idempotencyRecords)
    }

    func randomCommands(count: Int, using generator: inout SplitMixForTests) -> [ChatCommand] {
        let names = ["ann", "ben", "cat", "dan"]
        var commands: [ChatCommand] = []
        for step in 0..<count {
            let name = names[Int(generator.next() % 4)]
            let other = names[Int(generator.next() % 4)]
            let millis = Int64(step)
            switch generator.next() % 6 {
            case 0: commands.append(.createAccount(.init(username: name, passwordHash: "h", createdAtMillis: millis)))
            case 1: commands.append(.openSession(.init(username: name, verifiedPasswordHash: "h", tokenHash: "t-\(name)", createdAtMillis: millis)))
            case 2: commands.append(.acknowledge(.init(tokenHash: "t-\(name)", upTo: Int64(generator.next() % 10))))
            case 3: commands.append(.deleteAccount(.init(tokenHash: "t-\(name)", username: other)))
            default:
                commands.append(.sendMessage(.init(
                    tokenHash: "t-\(name)", recipient: other, body: "b\(step)", messageID: "id\(step)", sentAtMillis: millis,
                    idempotencyKey: generator.next() % 2 == 0 ? "k\(generator.next() % 3)" : nil, requestFingerprint: "f\(generator.next() % 2)")))
            }
        }
        return commands
    }
}

struct SplitMixForTests {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
