import Foundation
import Testing
@testable import ReplicaCore

/// Randomized safety + liveness schedules across 3 and 5 replicas, on fresh seeds every run.
///
/// The run's base seed comes from the clock (or `RAFT_SIM_BASE_SEED`) and is printed at the
/// start; schedule i runs seed base + i. A failure names its seed. Replay one seed, printing
/// every event:
///     RAFT_SIM_SEED=1234 swift test --filter RaftTests.randomSchedules
/// Soak run with 100,000 schedules:
///     RAFT_SIM_SCHEDULES=100000 swift test --filter RaftTests.randomSchedules
@Test(arguments: 0..<SimulationRun.batches)
func randomSchedules(batch: Int) {
    if let replaySeed = SimulationRun.replaySeed {
        guard batch == 0 else { return }
        report(RandomSchedule(seed: replaySeed, isVerbose: true).run(), seed: replaySeed)
        return
    }
    for seed in SimulationRun.seeds(ofBatch: batch) {
        let violations = RandomSchedule(seed: seed, isVerbose: false).run()
        guard violations.isEmpty else {
            report(violations, seed: seed)
            return
        }
    }
}

/// The same schedules with configuration changes among the faults: two spare replicas
/// are added as learners, promoted and removed (the leader too) while replicas crash and
/// the network partitions. Replay one seed with `RAFT_SIM_MEMBERSHIP_SEED=N`; the count is
/// `RAFT_SIM_MEMBERSHIP_SCHEDULES` (500 by default).
@Test(arguments: 0..<SimulationRun.batches)
func randomMembershipSchedules(batch: Int) {
    if let replaySeed = SimulationRun.environment["RAFT_SIM_MEMBERSHIP_SEED"].flatMap(UInt64.init) {
        guard batch == 0 else { return }
        report(RandomSchedule(seed: replaySeed, isVerbose: true, changesMembership: true).run(), seed: replaySeed)
        return
    }
    let count = SimulationRun.environment["RAFT_SIM_MEMBERSHIP_SCHEDULES"].flatMap(Int.init) ?? 500
    for offset in stride(from: batch, to: count, by: SimulationRun.batches) {
        let seed = SimulationRun.baseSeed &+ 7_000_000 &+ UInt64(offset)
        let violations = RandomSchedule(seed: seed, isVerbose: false, changesMembership: true).run()
        guard violations.isEmpty else {
            report(violations, seed: seed, replayVariable: "RAFT_SIM_MEMBERSHIP_SEED")
            return
        }
    }
}

/// Seeds that once failed, run on every test run (see `RegressionSeeds`).
@Test(arguments: RegressionSeeds.all)
func regressionSeed(_ seed: UInt64) {
    report(RandomSchedule(seed: seed, isVerbose: false).run(), seed: seed)
}

@Test(arguments: RegressionSeeds.membership)
func membershipRegressionSeed(_ seed: UInt64) {
    report(
        RandomSchedule(seed: seed, isVerbose: false, changesMembership: true).run(), seed: seed,
        replayVariable: "RAFT_SIM_MEMBERSHIP_SEED")
}

private func report(_ violations: [String], seed: UInt64, replayVariable: String = "RAFT_SIM_SEED") {
    guard !violations.isEmpty else { return }
    Issue.record(
        """
        Raft simulation failed for seed \(seed):
        \(violations.joined(separator: "\n"))
        Replay: \(replayVariable)=\(seed) swift test --filter RaftTests.random
        """)
}

/// Which seeds this test run explores.
enum SimulationRun {
    static let batches = 40
    static let environment = ProcessInfo.processInfo.environment

    /// How many schedules a run executes: `RAFT_SIM_SCHEDULES`, 2,000 by default.
    static let scheduleCount = environment["RAFT_SIM_SCHEDULES"].flatMap(Int.init) ?? 2_000

    static let replaySeed = environment["RAFT_SIM_SEED"].flatMap(UInt64.init)

    /// Fresh every run unless `RAFT_SIM_BASE_SEED` fixes it; printed once, so that a whole
    /// run can be repeated.
    static let baseSeed: UInt64 = {
        let seed =
            environment["RAFT_SIM_BASE_SEED"].flatMap(UInt64.init)
            ?? UInt64(Date().timeIntervalSince1970 * 1_000_000) % 1_000_000_000_000
        print(
            "Raft simulation: \(scheduleCount) schedules, seeds \(seed) ..< \(seed + UInt64(scheduleCount)) "
                + "(RAFT_SIM_BASE_SEED=\(seed) repeats this run)")
        return seed
    }()

    static func seeds(ofBatch batch: Int) -> [UInt64] {
        let perBatch = (scheduleCount + batches - 1) / batches
        let start = batch * perBatch
        let end = min(scheduleCount, start + perBatch)
        guard start < end else { return [] }
        return (start..<end).map { baseSeed &+ UInt64($0) }
    }
}
