import Testing
@testable import ReplicaCore

/// The simulator's own promises: what a crash may lose, how a broken invariant inside the
/// core is reported, and which seeds a run explores.
@Suite(.recordsCoreInvariants) struct SimulatorTests {
    private func entry(_ index: UInt64, term: UInt64 = 1) -> Entry {
        Entry(term: Term(term), index: LogIndex(index))
    }

    private func diskWithFlushedAndUnflushedEntries() throws -> SimulatedDisk {
        var disk = SimulatedDisk()
        try disk.write(.append([entry(1), entry(2)]))
        try disk.write(.setHardState(HardState(term: 1, vote: 1, commit: 0)))
        disk.flush()
        try disk.write(.append([entry(3)]))
        try disk.write(.append([entry(4)]))
        try disk.write(.setHardState(HardState(term: 1, vote: 1, commit: 4)))
        return disk
    }

    @Test func crashNeverLosesAFlushedWrite() throws {
        for loss in [SimulatedDisk.CrashLoss.nothing, .allUnflushed, .randomSuffix] {
            var disk = try diskWithFlushedAndUnflushedEntries()
            var generator = SeededGenerator(seed: 1)
            disk.crash(losing: loss, using: &generator)
            #expect(disk.storage.lastIndex() >= 2, "\(loss): flushed entries survive")
            #expect(disk.storage.initialState().term == 1, "\(loss): the flushed term survives")
        }
    }

    @Test func crashOfAProcessKeepsEveryWrite() throws {
        var disk = try diskWithFlushedAndUnflushedEntries()
        var generator = SeededGenerator(seed: 1)
        #expect(disk.crash(losing: .nothing, using: &generator) == 0)
        #expect(disk.storage.lastIndex() == 4)
        #expect(disk.storage.initialState().commit == 4)
    }

    @Test func powerCutMayLoseEveryUnflushedWrite() throws {
        var disk = try diskWithFlushedAndUnflushedEntries()
        var generator = SeededGenerator(seed: 1)
        #expect(disk.crash(losing: .allUnflushed, using: &generator) == 3)
        #expect(disk.storage.lastIndex() == 2)
        #expect(disk.storage.initialState().commit == 0)
    }

    /// Writes reach the disk in order: a crash keeps a prefix of the unflushed ones, so a
    /// later write (the commit index) never survives without an earlier one (the entries).
    @Test func crashKeepsAPrefixOfTheUnflushedWrites() throws {
        var keptCounts: Set<Int> = []
        for seed in UInt64(0)..<64 {
            var disk = try diskWithFlushedAndUnflushedEntries()
            var generator = SeededGenerator(seed: seed)
            let lost = disk.crash(losing: .randomSuffix, using: &generator)
            keptCounts.insert(3 - lost)
            let storage = disk.storage
            if storage.initialState().commit == 4 {
                #expect(storage.lastIndex() == 4, "seed \(seed): the commit index survived without its entries")
            }
            if storage.lastIndex() == 4 {
                #expect(try storage.term(at: 3) == 1, "seed \(seed): entry 4 survived without entry 3")
            }
        }
        #expect(keptCounts == [0, 1, 2, 3], "every prefix length occurs")
    }

    /// A broken invariant inside the core fails the schedule with its seed and trace, instead
    /// of trapping the test process, and the next schedule runs as usual.
    @Test func brokenCoreInvariantFailsItsScheduleAndTheRunMovesOn() {
        var schedule = RandomSchedule(seed: 4, isVerbose: false)
        schedule.sabotage = { cluster, step in
            guard step == 100, let id = cluster.liveIDs.first else { return }
            // The driver's contract: no second `ready()` before `advance(_:)`.
            _ = cluster.node(id).ready()
            _ = cluster.node(id).ready()
        }
        let violations = schedule.run()
        #expect(violations.first?.contains("Core invariant: ready() called again before advance") == true, "\(violations)")
        #expect(violations.last?.hasPrefix("last events:") == true, "the report carries the trace")
        #expect(RandomSchedule(seed: 5, isVerbose: false).run().isEmpty, "the next schedule runs as usual")
    }

    @Test func batchesCoverEveryScheduleOfTheRunOnce() {
        let seeds = (0..<SimulationRun.batches).flatMap(SimulationRun.seeds(ofBatch:))
        #expect(seeds.count == SimulationRun.scheduleCount)
        #expect(Set(seeds).count == seeds.count)
        #expect(seeds.first == SimulationRun.baseSeed)
    }
}
