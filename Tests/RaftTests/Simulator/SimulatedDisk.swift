@testable import ReplicaCore

/// One replica's disk under the storage contract of `Ready`: writes land in order, and only a
/// flush makes them durable.
///
/// `storage` is what the running replica reads (the page cache: every write, flushed or not).
/// `durable` holds what a power cut would leave. A crash keeps the durable state plus a prefix
/// of the writes since the last flush, in the order they were made: any unflushed suffix may be
/// lost, never a flushed write, and never a write without the ones before it.
struct SimulatedDisk {
    enum Write {
        case installSnapshot(Snapshot)
        case append([Entry])
        case setHardState(HardState)
        case createSnapshot(at: LogIndex, data: [UInt8], membership: Membership)
        case compact(upTo: LogIndex)
    }

    /// How many unflushed writes a crash keeps.
    enum CrashLoss {
        /// Every write reached the disk (the process died, the machine did not).
        case nothing
        /// Every unflushed write is lost.
        case allUnflushed
        /// A prefix of the unflushed writes, of a length chosen by the generator.
        case randomSuffix
    }

    private(set) var storage = MemoryRaftStorage()
    private var durable = MemoryRaftStorage()
    private(set) var unflushed: [Write] = []

    /// Makes a write visible to the replica; it becomes durable at the next `flush()`.
    mutating func write(_ write: Write) throws {
        try Self.perform(write, on: storage)
        unflushed.append(write)
    }

    mutating func flush() {
        for write in unflushed {
            // Each write already succeeded on `storage`, which held the same state before it.
            try! Self.perform(write, on: durable)
        }
        unflushed.removeAll()
    }

    /// What survives a crash; the replica restarts from it. Returns how many unflushed writes were lost.
    @discardableResult
    mutating func crash(losing loss: CrashLoss, using generator: inout SeededGenerator) -> Int {
        let kept: Int
        switch loss {
        case .nothing: kept = unflushed.count
        case .allUnflushed: kept = 0
        case .randomSuffix: kept = Int.random(in: 0...unflushed.count, using: &generator)
        }
        let lost = unflushed.count - kept
        unflushed.removeSubrange(kept...)
        flush()
        storage = durable.copy()
        return lost
    }

    /// The hard state a crash without any loss of unflushed writes would keep at least.
    var durableHardState: HardState { durable.initialState() }

    private static func perform(_ write: Write, on storage: MemoryRaftStorage) throws {
        switch write {
        case .installSnapshot(let snapshot): try storage.applySnapshot(snapshot)
        case .append(let entries): storage.append(entries)
        case .setHardState(let hardState): storage.setHardState(hardState)
        case .createSnapshot(let index, let data, let membership):
            try storage.createSnapshot(at: index, data: data, membership: membership)
        case .compact(let index): try storage.compact(upTo: index)
        }
    }
}
