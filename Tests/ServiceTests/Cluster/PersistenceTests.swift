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

        /// A cluster that compacts its log every 20 entries, and a follower that was down while
        /// alice sent bob the given bodies, started again: it must catch up through a snapshot.
        struct Laggard {
            var cluster: TestCluster
            var leader: ChatdProcess
            var replica: ChatdProcess
            var alice: ChatUser
            var bob: ChatUser

            static func started(missing bodies: [String], tls: Bool = false) async throws -> Laggard {
                let cluster = try await TestCluster.started(
                    size: 3, extraArguments: ["--snapshot-every", "20", "--retained-entries", "5"], tls: tls)
                let leader = try await cluster.waitForLeader()
                let alice = try await ChatUser.register("alice", at: leader.baseURL)
                let bob = try await ChatUser.register("bob", at: leader.baseURL)
                let replica = cluster.followers(of: leader)[0]
                replica.stop(signal: SIGKILL)
                for body in bodies { #expect(try await alice.send(to: "bob", body).status == 201) }
                try await replica.start()
                return Laggard(cluster: cluster, leader: leader, replica: replica, alice: alice, bob: bob)
            }

            /// Waits until the laggard has applied everything the leader has, then reads bob's inbox there.
            func caughtUpInbox(timeout: Duration = .seconds(10)) async throws -> [String] {
                let leaderApplied = try await leader.appliedIndex
                _ = try await eventually(timeout: timeout) { try await replica.appliedIndex >= leaderApplied ? true : nil }
                return try await bob.at(replica).inbox("consistency=stale&limit=1000").bodies
            }

            var metrics: String {
                get async throws { try await TestClient.shared.get("\(replica.baseURL)/metrics").text }
            }
        }

        @Test func aReplicaThatMissedACompactionCatchesUpThroughASnapshot() async throws {
            let laggard = try await Laggard.started(missing: (1...60).map { "m\($0)" })
            #expect(try await laggard.caughtUpInbox() == (1...60).map { "m\($0)" })
            #expect(try await laggard.metrics.contains("chat_raft_snapshots_installed 1"),
                    "the laggard caught up without a snapshot")
        }

        /// The state file is copied after the snapshot's index while writes go on, so it covers
        /// entries the laggard then receives from the log as well: each must count once.
        @Test func aLaggardCatchingUpWhileWritesGoOnGetsEveryMessageExactlyOnce() async throws {
            let laggard = try await Laggard.started(missing: (1...60).map { "m\($0)" })
            for index in 61...200 { _ = try await laggard.alice.send(to: "bob", "m\(index)") }
            #expect(try await laggard.caughtUpInbox() == (1...200).map { "m\($0)" }, "every message once, in order")
            #expect(try await laggard.metrics.contains("chat_raft_snapshots_installed 1"),
                    "the laggard caught up without a snapshot")
        }

        /// State files and batches of large entries are far bigger than a client request may
        /// be; peer traffic must not be held to the public body limit.
        @Test func aLaggingReplicaCatchesUpWhenEntriesAndSnapshotsAreLarge() async throws {
            let body = String(repeating: "x", count: 60_000)
            let laggard = try await Laggard.started(missing: (1...40).map { "\($0)\(body)" })
            #expect(try await laggard.caughtUpInbox(timeout: .seconds(20)).count == 40)
        }

        /// A snapshot installed under a waiting long-poll replaces the state it waited on: the
        /// long-poll looks again and waits on, so it ends with the next message, not early and empty.
        @Test func aLongPollWaitingWhileItsReplicaInstallsASnapshotWaitsForTheNextMessage() async throws {
            let cluster = try await TestCluster.started(
                size: 3, extraArguments: ["--snapshot-every", "20", "--retained-entries", "5"])
            defer { cluster.resumeAndStopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            let replica = cluster.followers(of: leader)[0]
            let registered = try await leader.appliedIndex
            _ = try await eventually(timeout: .seconds(10)) { try await replica.appliedIndex >= registered ? true : nil }
            let poll = Task { try await bob.at(replica).inbox("consistency=stale&after=0&wait=60") }
            _ = try await eventually(timeout: .seconds(10)) {
                (try await metricsGauge("chat_waiting_long_polls", at: replica) ?? 0) >= 1 ? true : nil
            }
            let pid = try #require(replica.process?.processIdentifier)
            kill(pid, SIGSTOP)
            // Entries, none of them bob's, beyond the 64 appends a leader keeps in flight to a
            // follower, so it compacts past what it sent the paused replica.
            for index in 1...150 { #expect(try await alice.send(to: "alice", "n\(index)").status == 201) }
            kill(pid, SIGCONT)
            _ = try await eventually(timeout: .seconds(20)) {
                try await metricsGauge("chat_raft_snapshots_installed", at: replica) == 1 ? true : nil
            }
            #expect(try await alice.send(to: "bob", "after the snapshot").status == 201)
            let answer = try await poll.value
            #expect(answer.status == 200)
            #expect(answer.bodies == ["after the snapshot"], "the long-poll ended with \(answer.text)")
        }
    }
}
