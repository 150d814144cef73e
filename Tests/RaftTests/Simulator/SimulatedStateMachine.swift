@testable import ReplicaCore

/// The application of the simulation: an append-only list of applied proposal
/// identifiers, plus a running digest of everything applied so that two
/// replicas' states can be compared at any index in constant time.
struct SimulatedStateMachine {
    private(set) var appliedIndex: LogIndex = 0
    private(set) var digest: UInt64 = 0
    private(set) var proposalIDs: [UInt64] = []

    static func payload(for proposalID: UInt64) -> [UInt8] {
        withUnsafeBytes(of: proposalID.littleEndian) { Array($0) }
    }

    static func proposalID(of data: [UInt8]) -> UInt64? {
        guard data.count == 8 else { return nil }
        var value: UInt64 = 0
        for (offset, byte) in data.enumerated() {
            value |= UInt64(byte) << (8 * UInt64(offset))
        }
        return value
    }

    mutating func apply(_ entry: Entry) {
        precondition(entry.index == appliedIndex + 1, "entries must be applied in order without gaps")
        appliedIndex = entry.index
        guard let proposalID = Self.proposalID(of: entry.data) else { return }
        proposalIDs.append(proposalID)
        var mixer = SeededGenerator(seed: digest ^ proposalID)
        digest = mixer.next()
    }

    /// The snapshot payload: the digest followed by every proposal identifier.
    func snapshotData() -> [UInt8] {
        var data = Self.payload(for: digest)
        data.reserveCapacity(8 * (proposalIDs.count + 1))
        for proposalID in proposalIDs {
            data.append(contentsOf: Self.payload(for: proposalID))
        }
        return data
    }

    init() {}

    /// Whether `snapshot` holds what `snapshotData()` writes.
    static func isWellFormed(_ snapshot: Snapshot) -> Bool {
        snapshot.data.isEmpty || (snapshot.data.count % 8 == 0)
    }

    /// Rebuilds the state from a snapshot, as a restarted or lagging replica does.
    init(snapshot: Snapshot) {
        appliedIndex = snapshot.metadata.index
        guard !snapshot.data.isEmpty else { return }
        precondition(snapshot.data.count % 8 == 0, "corrupt simulated snapshot")
        var words: [UInt64] = []
        var position = 0
        while position < snapshot.data.count {
            words.append(Self.proposalID(of: Array(snapshot.data[position..<(position + 8)]))!)
            position += 8
        }
        digest = words[0]
        proposalIDs = Array(words.dropFirst())
    }
}
