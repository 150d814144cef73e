import Foundation
import Testing

extension ClusterTests {
    /// A follower times its part of a send: persisting the leader's entries, learning they are
    /// committed and applying them, and waking the long-poll waiting for them.
    @Suite(.serialized) struct StageMetrics {
        static func stageCount(_ stage: String, at replica: ChatdProcess) async throws -> Double {
            let text = try await TestClient.shared.get("\(replica.baseURL)/metrics").text
            let line = text.split(separator: "\n").first { $0.hasPrefix("chat_write_stage_seconds_count{stage=\"\(stage)\"}") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }

        @Test func aFollowerTimesPersistingApplyingAndWakingForASend() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0]
            // Wait until the follower knows alice, so the long-poll below is registered there.
            _ = try await eventually(timeout: .seconds(10)) {
                try await alice.at(follower).inbox().status == 200 ? true : nil
            }
            let waiting = Task { try await alice.at(follower).inbox("wait=30") }
            _ = try await eventually(timeout: .seconds(10)) {
                let text = try await TestClient.shared.get("\(follower.baseURL)/metrics").text
                return text.contains("chat_waiting_long_polls 1") ? true : nil
            }
            #expect(try await alice.send(to: "alice", "timed at the follower").status == 201)
            #expect(try await waiting.value.bodies == ["timed at the follower"])
            for stage in ["follower_persist", "follower_commit_apply", "long_poll_wake"] {
                #expect(try await Self.stageCount(stage, at: follower) >= 1, "the follower did not time \(stage)")
            }
        }
    }
}
