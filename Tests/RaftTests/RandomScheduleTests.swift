import Foundation
import Testing
@testable import ReplicaCore

/// The number of seeded schedules a full test run executes, split into
/// batches that Swift Testing runs in parallel.
private let scheduleBatches = 40
/// 50 per batch, 2,000 in all; `RAFT_SIM_SCHEDULES_PER_BATCH` raises it for a soak run.
private let schedulesPerBatch =
    ProcessInfo.processInfo.environment["RAFT_SIM_SCHEDULES_PER_BATCH"].flatMap(Int.init) ?? 50

/// Randomized safety + liveness schedules across 3 and 5 replicas.
///
/// A failure names its seed. Replay one seed, printing every event:
///     RAFT_SIM_SEED=1234 swift test --filter RaftTests.randomSchedules
/// Soak run with 40 × 1,000 seeds:
///     RAFT_SIM_SCHEDULES_PER_BATCH=1000 swift test --filter RaftTests.randomSchedules
@Test(arguments: 0..<scheduleBatches)
func randomSchedules(batch: Int) {
    if let replaySeed = ProcessInfo.processInfo.environment["RAFT_SIM_SEED"].flatMap(UInt64.init) {
        guard batch == 0 else { return }
        let violations = RandomSchedule(seed: replaySeed, isVerbose: true).run()
        for violation in violations {
            Issue.record("seed \(replaySeed): \(violation)")
        }
        return
    }
    for offset in 0..<schedulesPerBatch {
        let seed = UInt64(batch * schedulesPerBatch + offset)
        let violations = RandomSchedule(seed: seed, isVerbose: false).run()
        guard violations.isEmpty else {
            Issue.record(
                """
                Raft simulation failed for seed \(seed):
                \(violations.joined(separator: "\n"))
                Replay: RAFT_SIM_SEED=\(seed) swift test --filter RaftTests.randomSchedules
                """)
            return
        }
    }
}
