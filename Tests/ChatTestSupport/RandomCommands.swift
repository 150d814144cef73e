import ReplicaCore

/// A small deterministic generator for tests (SplitMix64).
public struct TestRandom {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// A random mix of every kind of chat command over a few users, including ones that are
/// refused (unknown users, revoked sessions, reused keys), to compare stores and replicas.
public func randomChatCommands(count: Int, seed: UInt64) -> [ChatCommand] {
    var random = TestRandom(seed: seed)
    let names = ["ann", "Ben", "cat", "dan"]
    var commands: [ChatCommand] = []
    for step in 0..<count {
        let name = names[random.below(names.count)]
        let other = names[random.below(names.count)]
        let token = "t-\(name.lowercased())-\(random.below(2))"
        let millis = Int64(step)
        switch random.below(7) {
        case 0:
            commands.append(.createAccount(.init(username: name, passwordHash: "h", createdAtMillis: millis)))
        case 1:
            commands.append(.openSession(.init(
                username: name, verifiedPasswordHash: "h", tokenHash: token, createdAtMillis: millis)))
        case 2:
            commands.append(.acknowledge(.init(tokenHash: token, upTo: Int64(random.below(10)))))
        case 3 where random.below(4) == 0:
            commands.append(.deleteAccount(.init(tokenHash: token, username: other)))
        case 4 where random.below(3) == 0:
            commands.append(.closeSession(.init(tokenHash: token)))
        case 5 where random.below(4) == 0:
            commands.append(.touchSessions(.init(tokenHashes: [token, "t-\(other.lowercased())-0"], atMillis: millis)))
        case 6 where random.below(6) == 0:
            commands.append(.expireSessions(.init(unusedBeforeMillis: millis - Int64(random.below(40)))))
        default:
            commands.append(.sendMessage(.init(
                tokenHash: token, recipient: other, body: "b\(step)", messageID: "id\(step)", sentAtMillis: millis,
                idempotencyKey: random.below(2) == 0 ? "k\(random.below(3))" : nil,
                requestFingerprint: "f\(random.below(2))")))
        }
    }
    return commands
}
