import Foundation
import Testing

extension ClusterTests {
    @Suite(.serialized) struct Persistence {
        @Test func stoppingAndRestartingTheWholeClusterKeepsEverything() async throws {
            let cluster = try await TestCluster.started(size: 3)
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            for index in 1...5 { _ = try await alice.send(to: "bob", "m\(index)") }
            _ = try await bob.ack(upTo: 2)
            cluster.stopAll(signal: SIGKILL)
            try await cluster.startAll()
            let newLeader = try await cluster.waitForLeader()
            #expect(try await bob.at(newLeader).inbox().bodies == ["m3", "m4", "m5"], "the session, the ack and the messages survive")
            let accounts = try await TestClient.shared.get("\(newLeader.baseURL)/v1/accounts", token: alice.token)
            #expect((accounts.json["accounts"] as? [[String: Any]])?.count == 2)
        }

        @Test func aReplicaThatMissedACompactionCatchesUpThroughASnapshot() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--snapshot-every", "20", "--retained-entries", "5"])
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            let laggard = cluster.followers(of: leader)[0]
            laggard.stop(signal: SIGKILL)
            for index in 1...60 { _ = try await alice.send(to: "bob", "m\(index)") }
            try await laggard.start()
            let leaderApplied = try await leader.appliedIndex
            _ = try await eventually(timeout: .seconds(10)) { try await laggard.appliedIndex >= leaderApplied ? true : nil }
            let stale = try await bob.at(laggard).inbox("consistency=stale&limit=1000")
            #expect(stale.bodies == (1...60).map { "m\($0)" })
            let metrics = try await TestClient.shared.get("\(laggard.baseURL)/metrics").text
            #expect(metrics.contains("chat_raft_snapshots_installed 1"), "the laggard caught up without a snapshot")
        }

        /// The state file is copied after the snapshot's index while writes go on, so it covers
        /// entries the laggard then receives from the log as well: each must count once.
        @Test func aLaggardCatchingUpWhileWritesGoOnGetsEveryMessageExactlyOnce() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--snapshot-every", "20", "--retained-entries", "5"])
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            let laggard = cluster.followers(of: leader)[0]
            laggard.stop(signal: SIGKILL)
            for index in 1...60 { _ = try await alice.send(to: "bob", "m\(index)") }
            try await laggard.start()
            for index in 61...200 { _ = try await alice.send(to: "bob", "m\(index)") }
            let leaderApplied = try await leader.appliedIndex
            _ = try await eventually(timeout: .seconds(10)) { try await laggard.appliedIndex >= leaderApplied ? true : nil }
            let stale = try await bob.at(laggard).inbox("consistency=stale&limit=1000")
            #expect(stale.bodies == (1...200).map { "m\($0)" }, "every message once, in order")
            let metrics = try await TestClient.shared.get("\(laggard.baseURL)/metrics").text
            #expect(metrics.contains("chat_raft_snapshots_installed 1"), "the laggard caught up without a snapshot")
        }

        /// State files and batches of large entries are far bigger than a client request may
        /// be; peer traffic must not be held to the public body limit.
        @Test func aLaggingReplicaCatchesUpWhenEntriesAndSnapshotsAreLarge() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--snapshot-every", "20", "--retained-entries", "5"])
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            let laggard = cluster.followers(of: leader)[0]
            laggard.stop(signal: SIGKILL)
            let body = String(repeating: "x", count: 60_000)
            for index in 1...40 { #expect(try await alice.send(to: "bob", "\(index)\(body)").status == 201) }
            try await laggard.start()
            let leaderApplied = try await leader.appliedIndex
            _ = try await eventually(timeout: .seconds(20)) { try await laggard.appliedIndex >= leaderApplied ? true : nil }
            let stale = try await bob.at(laggard).inbox("consistency=stale&limit=1000")
            #expect(stale.bodies.count == 40)
        }
    }
}
