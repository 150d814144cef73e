import AllocationCounter
import ReplicaCore

/// Entries committed per second in a fault-free in-memory cluster, with
/// proposals batched 64 per tick, and heap allocations per committed entry.
struct BenchmarkResult {
    var replicas: Int
    var committedEntries: Int
    var seconds: Double
    var allocations: Int

    var entriesPerSecond: Double { Double(committedEntries) / seconds }
    var allocationsPerEntry: Double { Double(allocations) / Double(committedEntries) }
}

func runBenchmark(replicas: Int, ticks: Int, proposalsPerTick: Int, payloadBytes: Int) throws -> BenchmarkResult {
    let cluster = try InMemoryCluster(size: replicas)
    cluster.electFirstReplica()
    let leader = cluster.nodes[0]
    let payload = [UInt8](repeating: 0xAB, count: payloadBytes)
    let appliedBefore = cluster.appliedEntryCount[0]
    let allocationsBefore = allocation_counter_count()
    let clock = ContinuousClock()
    let start = clock.now
    var proposeAllocations = 0
    for _ in 0..<ticks {
        let beforePropose = allocation_counter_count()
        for _ in 0..<proposalsPerTick {
            _ = try leader.propose(payload)
        }
        proposeAllocations += allocation_counter_count() - beforePropose
        for node in cluster.nodes { node.tick() }
        cluster.runUntilQuiet()
    }
    let elapsed = clock.now - start
    if CommandLine.arguments.contains("--verbose") {
        print("  allocations in propose: \(Double(proposeAllocations) / Double(ticks * proposalsPerTick)) per entry")
    }
    let allocations = allocation_counter_count() - allocationsBefore
    let committed = cluster.appliedEntryCount[0] - appliedBefore
    precondition(committed == ticks * proposalsPerTick, "every proposal must commit")
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return BenchmarkResult(replicas: replicas, committedEntries: committed, seconds: seconds, allocations: Int(allocations))
}

let ticks = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 2_000
print("Raft in-memory throughput: 64 proposals of 64 bytes per tick, \(ticks) ticks, no faults")
print("replicas  committed  seconds  entries/s  allocations/entry")
for replicas in [3, 5] {
    let result = try runBenchmark(replicas: replicas, ticks: ticks, proposalsPerTick: 64, payloadBytes: 64)
    let line = [
        "\(result.replicas)".padding(9),
        "\(result.committedEntries)".padding(10),
        String(format3(result.seconds)).padding(8),
        "\(Int(result.entriesPerSecond))".padding(10),
        format3(result.allocationsPerEntry),
    ]
    print(line.joined(separator: " "))
}

func format3(_ value: Double) -> String {
    let scaled = Double(Int(value * 1000)) / 1000
    return "\(scaled)"
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
