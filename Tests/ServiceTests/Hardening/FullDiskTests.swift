import Foundation
import Testing

extension ClusterTests {
    /// A replica whose data directory's disk fills up refuses writes with 503 `storage_full`,
    /// keeps serving reads and long-polls, never crashes, and takes writes again by itself
    /// once space is freed. Each test runs a lone replica on a small tmpfs of its own.
    @Suite(.serialized) struct FullDisk {
        @Test(.enabled(if: SmallFilesystem.canMount, "skipped: mounting a tmpfs needs root"))
        func belowTheReserveWritesAre503StorageFullWhileReadsAndLongPollsGoOn() async throws {
            let disk = try SmallFilesystem(megabytes: 48)
            defer { disk.unmount() }
            let replica = try await Self.replica(on: disk, reserve: "16MiB")
            defer { replica.stop(signal: SIGKILL) }
            let alice = try await ChatUser.register("alice", at: replica.baseURL)
            #expect(try await alice.send(to: "alice", "before").status == 201)

            try disk.fill(leavingFree: 8 << 20)
            let refused = try await alice.send(to: "alice", "while full")
            #expect(refused.status == 503, "a write below the reserve: \(refused.status) \(refused.text)")
            #expect(refused.errorCode == "storage_full")
            #expect(refused.headers.first(name: "Retry-After") != nil)
            let signUp = try await TestClient.shared.request(
                .POST, "\(replica.baseURL)/v1/accounts", json: ["username": "bob", "password": "password123"])
            #expect(signUp.errorCode == "storage_full", "sign-ups are writes too: \(signUp.status) \(signUp.text)")
            #expect(try await alice.inbox().bodies == ["before"], "reads must go on while the disk is full")
            let poll = try await alice.inbox("after=1&wait=1")
            #expect(poll.status == 200 && poll.bodies.isEmpty, "long-polls must go on: \(poll.status) \(poll.text)")

            disk.removeFiller()
            _ = try await eventually(timeout: .seconds(10)) {
                try await alice.send(to: "alice", "after").status == 201 ? true : nil
            }
            #expect(try await alice.inbox().bodies == ["before", "after"])
            #expect(Self.isAlive(replica))
        }

        @Test(.enabled(if: SmallFilesystem.canMount, "skipped: mounting a tmpfs needs root"))
        func aReplicaWhoseDiskFillsCompletelyKeepsRunningLosesNothingAndRecovers() async throws {
            let disk = try SmallFilesystem(megabytes: 40)
            defer { disk.unmount() }
            // No reserve: the disk really runs out under a write.
            let replica = try await Self.replica(on: disk, reserve: "0")
            defer { replica.stop(signal: SIGKILL) }
            let alice = try await ChatUser.register("alice", at: replica.baseURL)
            try disk.fill(leavingFree: 0)

            var acknowledged: [String] = []
            var sawStorageFull = false
            let body = String(repeating: "x", count: 8_000)
            for attempt in 0..<2_000 where !sawStorageFull {
                let answer = try await alice.send(to: "alice", "\(attempt) \(body)")
                if answer.status == 201 { acknowledged.append("\(attempt) \(body)") }
                sawStorageFull = answer.errorCode == "storage_full"
                #expect(answer.status < 500 || answer.status == 503, "\(answer.status) \(answer.text)")
            }
            #expect(sawStorageFull, "writes on a full disk must be refused with storage_full")
            #expect(Self.isAlive(replica), "the replica must survive a full disk: \(replica.recentLog)")
            #expect(try await alice.inbox("consistency=stale&limit=1").status == 200, "reads must go on")

            disk.removeFiller()
            _ = try await eventually(timeout: .seconds(10)) {
                try await alice.send(to: "alice", "after").status == 201 ? true : nil
            }
            let bodies = try await alice.allMessages().compactMap { $0["body"] as? String }
            #expect(Set(acknowledged).isSubset(of: Set(bodies)), "an acknowledged message was lost")
            #expect(Set(bodies).count == bodies.count, "a message was stored twice")
            #expect(bodies.last == "after")
            #expect(!replica.recentLog.contains("Fatal error"))
        }

        /// Found by probing: a replica logged that it refused writes, and that it took them again,
        /// only when a write reached it as leader; a follower never did.
        @Test func aReplicaBelowTheReserveLogsItWithoutWaitingForAWrite() async throws {
            let replica = try await ChatdProcess.single(extraArguments: ["--min-free-disk", "1000000TiB", "--log-level", "info"])
            defer { replica.stop() }
            _ = try await eventually(timeout: .seconds(10)) {
                replica.recentLog.contains("refusing writes (503 storage_full) until space is freed") ? true : nil
            }
        }

        /// A leader below the reserve would stop every write of the cluster while its followers
        /// have room: it hands leadership over instead. (An unreachable reserve stands in for a
        /// full disk, so no tmpfs is needed.)
        @Test func aLeaderBelowTheDiskReserveHandsOverAndWritesGoOn() async throws {
            let cluster = try TestCluster(size: 3)
            defer { cluster.stopAll() }
            cluster.replica(1).extraArguments += ["--min-free-disk", "1000000TiB"]
            // The others wait 3-6 s to campaign, so replica 1 leads first.
            for id in [2, 3] { cluster.replica(id).extraArguments += ["--election-ticks", "100"] }
            try await cluster.startAll()
            let first = try await cluster.waitForLeader(timeout: .seconds(15))
            try #require(first.id == 1, "fixture: replica 1 did not lead first")
            let refused = try await TestClient.shared.request(
                .POST, "\(first.baseURL)/v1/accounts", json: ["username": "alice", "password": "password123"])
            #expect(refused.errorCode == "storage_full", "\(refused.status) \(refused.text)")
            let next = try await eventually(timeout: .seconds(10)) { () -> ChatdProcess? in
                let leader = try await cluster.waitForLeader()
                return leader.id == 1 ? nil : leader
            }
            #expect(try await ChatUser.register("alice", at: next.baseURL).send(to: "alice", "written").status == 201)
            #expect(first.recentLog.contains("transferring leadership to replica \(next.id): this replica's disk is below the reserve"))
        }

        static func replica(on disk: SmallFilesystem, reserve: String) async throws -> ChatdProcess {
            // The data directory is the mount itself; the log goes beside it, off the small disk.
            let replica = ChatdProcess(
                peers: [1: try FreePort.next()], dataDirectory: disk.mountPoint,
                extraArguments: ["--min-free-disk", reserve, "--request-timeout-ms", "2000"])
            try await replica.start()
            try await replica.waitUntil(path: "/readyz")
            return replica
        }

        static func isAlive(_ replica: ChatdProcess) -> Bool {
            guard let pid = replica.process?.processIdentifier else { return false }
            return kill(pid, 0) == 0
        }
    }
}
