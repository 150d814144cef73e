import Foundation
import NIOHTTP1
import Testing

/// A replica removed from its cluster learns it, says so, stops, and never serves again from
/// its data directory; a replica that is merely cut off, or hears only stale news, keeps running.
extension ClusterTests {
    @Suite(.serialized) struct RemovedReplicas {
        typealias Membership = ClusterTests.MembershipChanges

        static func remove(_ replica: ChatdProcess, in cluster: TestCluster) async throws {
            let leader = try await cluster.waitForLeader()
            let removal = try await Membership.operatorCall(.DELETE, "/v1/cluster/members/\(replica.id)", at: leader)
            #expect(removal.status == 204, "removing replica \(replica.id): \(removal.status) \(removal.text)")
        }

        /// Waits for `replica` to stop by itself, and checks it exited cleanly saying why.
        static func expectStopsByItself(_ replica: ChatdProcess, provedBy evidence: String) throws {
            let process = try #require(replica.process)
            let status = try #require(exitStatus(of: process, timeout: .seconds(20)), "replica \(replica.id) still runs: \(replica.recentLog)")
            #expect(status == 0, "exit status \(status): \(replica.recentLog)")
            #expect(replica.recentLog.contains("replica \(replica.id) is no longer a member of cluster"), "log: \(replica.recentLog)")
            #expect(replica.recentLog.contains(evidence), "the log names the proof (\(evidence)): \(replica.recentLog)")
        }

        @Test func aRemovedFollowerStopsByItselfAndRefusesToStartAgain() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let removed = cluster.followers(of: leader)[0]
            try await Self.remove(removed, in: cluster)
            // The leader stops sending to it at once, so it never sees the entry that removed it.
            try Self.expectStopsByItself(removed, provedBy: "reports a configuration committed by index")

            removed.entry = .dataDirectoryOnly
            try? await removed.start()  // it exits before it answers /healthz
            let restart = try #require(removed.process.flatMap { exitStatus(of: $0, timeout: .seconds(20)) }, "it did not exit")
            #expect(restart != 0)
            #expect(removed.recentLog.contains("refusing to start: replica \(removed.id) was removed from cluster"), "log: \(removed.recentLog)")
            let members = try await Membership.members(at: try await cluster.waitForLeader())
            #expect(members.keys.sorted() == [1, 2, 3].filter { $0 != removed.id })
        }

        @Test func aRemovedFollowerLearnsItOverTLS() async throws {
            // The members are asked over https, verified against the peer CA.
            let cluster = try await TestCluster.started(size: 3, tls: true)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let removed = cluster.followers(of: leader)[0]
            try await Self.remove(removed, in: cluster)
            try Self.expectStopsByItself(removed, provedBy: "https://127.0.0.1:")
        }

        @Test func aRemovedLeaderHandsOverThenStops() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            try await Self.remove(leader, in: cluster)
            try Self.expectStopsByItself(leader, provedBy: "it committed its own removal while leading")
            let successor = try await cluster.waitForLeader()
            #expect(successor.id != leader.id)
        }

        @Test func aRemovedLearnerStops() async throws {
            // A learner never campaigns: it only stops hearing from the leader.
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let learner = try cluster.addJoiner(id: 4, learner: true)
            try await learner.start()
            _ = try await eventually(timeout: .seconds(20)) {
                try await Membership.members(at: try await cluster.waitForLeader())[4] == "learner" ? true : nil
            }
            try await Self.remove(learner, in: cluster)
            try Self.expectStopsByItself(learner, provedBy: "reports a configuration committed by index")
        }

        /// The others stopped and stand-ins took their ports: one answers its real, stale view
        /// (listing this replica), the other a removal that is not committed. Neither proves
        /// anything. Then the second's removal commits, and the replica stops.
        @Test func onlyACommittedNewerConfigurationWithoutItStopsAReplica() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let lone = cluster.followers(of: leader)[0]
            let others = cluster.replicas.filter { $0.id != lone.id }
            let staleView = try await others[0].clusterView
            for other in others { other.stop() }

            let commit = staleView["commit_index"] as? Int ?? 0
            let members = (staleView["members"] as? [[String: Any]] ?? []).filter { $0["id"] as? Int != lone.id }
            var removal = staleView
            (removal["members"], removal["commit_index"], removal["configuration_index"]) = (members, commit + 5, commit + 6)
            let stale = try ScriptedPeer(port: others[0].port, view: try Self.text(staleView))
            let uncommitted = try ScriptedPeer(port: others[1].port, view: try Self.text(removal))
            defer { stale.stop(); uncommitted.stop() }
            _ = try await eventually(timeout: .seconds(20)) {
                stale.clusterCalls >= 2 && uncommitted.clusterCalls >= 2 ? true : nil
            }
            let health = try await TestClient.shared.get("\(lone.baseURL)/healthz")
            #expect(health.status == 200, "the replica stopped on news that proves nothing: \(lone.recentLog)")

            removal["configuration_index"] = commit + 5
            uncommitted.answer(with: try Self.text(removal))
            try Self.expectStopsByItself(lone, provedBy: "127.0.0.1:\(others[1].port) reports a configuration committed by index \(commit + 5)")
        }

        @Test func aReplicaCutOffFromAllOthersKeepsRunning() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let lone = cluster.followers(of: leader)[0]
            let others = cluster.replicas.filter { $0.id != lone.id }
            for other in others { other.stop() }
            // Stand-ins that answer nothing useful: the replica asks, learns nothing, runs on.
            let silent = try others.map { try ScriptedPeer(port: $0.port, view: "{}") }
            defer { silent.forEach { $0.stop() } }
            _ = try await eventually(timeout: .seconds(20)) { silent.allSatisfy { $0.clusterCalls >= 2 } ? true : nil }
            silent.forEach { $0.stop() }
            for other in others {
                other.entry = .dataDirectoryOnly
                try await other.start()
            }
            let newLeader = try await cluster.waitForLeader()
            #expect(try await Membership.members(at: newLeader).count == 3)
            let ready = try await TestClient.shared.get("\(lone.baseURL)/readyz")
            #expect(ready.status == 200, "the replica cut off from the others stopped: \(lone.recentLog)")
        }

        /// A stand-in leader (replica 1) whose view lists replica 4 as the learner it added, and
        /// replica 4 started with --join through it (not waited for).
        struct ScriptedJoin {
            let peer: ScriptedPeer
            let joiner: ChatdProcess
            let peerURL: String
            private let leader: [String: Any]
            private var view: [String: Any]

            init() throws {
                let (peerPort, ownPort) = (try FreePort.next(), try FreePort.next())
                peerURL = "http://127.0.0.1:\(peerPort)"
                leader = ["id": 1, "role": "voter", "url": peerURL]
                let joining: [String: Any] = ["id": 4, "role": "learner", "url": "http://127.0.0.1:\(ownPort)"]
                view = [
                    "cluster_id": "c0ffee", "id": 1, "role": "leader", "leader": leader, "applied_index": 9,
                    "commit_index": 9, "configuration_index": 8, "members": [leader, joining],
                ]
                peer = try ScriptedPeer(
                    port: peerPort, view: try RemovedReplicas.text(view),
                    addAnswer: try RemovedReplicas.text(["cluster_id": "c0ffee", "configuration_index": 8, "members": [leader, joining]]))
                joiner = ChatdProcess(
                    id: 4, peers: [4: ownPort], dataDirectory: TemporaryDirectory.make(),
                    extraArguments: ["--cluster-secret", TestCluster.secret])
                joiner.entry = .join([peerURL], learner: true)
            }

            /// The leader's view from now on: a configuration committed by index 12 without replica 4.
            mutating func removeTheJoiner() throws {
                (view["members"], view["commit_index"], view["configuration_index"]) = ([leader], 12, 11)
                peer.answer(with: try RemovedReplicas.text(view))
            }

            func stop() {
                joiner.stop()
                peer.stop()
            }
        }

        /// Removed while it still caught up, it may know no configuration at all: it asks the
        /// replicas it joined through, and a configuration later than the one that added it
        /// decides.
        @Test func aJoinerRemovedBeforeItCaughtUpStopsToo() async throws {
            var join = try ScriptedJoin()
            defer { join.stop() }
            try await join.joiner.start()
            let askedBefore = join.peer.clusterCalls
            _ = try await eventually(timeout: .seconds(20)) { join.peer.clusterCalls >= askedBefore + 2 ? true : nil }
            let health = try await TestClient.shared.get("\(join.joiner.baseURL)/healthz")
            #expect(health.status == 200, "the joiner stopped on a view that lists it: \(join.joiner.recentLog)")
            try join.removeTheJoiner()
            try Self.expectStopsByItself(join.joiner, provedBy: "\(join.peerURL) reports a configuration committed by index 12")
        }

        /// The replicas it joined through are recorded: restarted without --join before it
        /// caught up, a joiner still has someone to ask, and stops once removed.
        @Test func aJoinerRemovedBeforeItCaughtUpStopsAfterARestartWithoutJoin() async throws {
            var join = try ScriptedJoin()
            defer { join.stop() }
            try await join.joiner.start()
            // Stopped before it recorded its place, it would restart as a new replica.
            _ = try await eventually(timeout: .seconds(20)) {
                try await join.joiner.clusterView["cluster_id"] as? String == "c0ffee" ? true : nil
            }
            join.joiner.stop()
            join.joiner.entry = .dataDirectoryOnly
            try await join.joiner.start()
            try join.removeTheJoiner()
            try Self.expectStopsByItself(join.joiner, provedBy: "\(join.peerURL) reports a configuration committed by index 12")
        }

        static func text(_ json: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        }
    }
}
