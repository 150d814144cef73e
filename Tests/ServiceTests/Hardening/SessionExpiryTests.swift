import Foundation
import Testing

extension ClusterTests {
    /// `--session-ttl`: a session unused that long expires everywhere; one in use, even only
    /// through reads at a follower, never does.
    @Suite(.serialized) struct SessionExpiry {
        @Test func aSessionUsedOnlyByLongPollsAtAFollowerOutlivesItsTTL() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--session-ttl", "1500ms"])
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0]
            let started = ContinuousClock.now
            // Each long-poll waits a second on the server, so uses come about a second apart,
            // for three times the TTL.
            while ContinuousClock.now - started < .milliseconds(4_500) {
                let poll = try await alice.at(follower).inbox("wait=1")
                #expect(poll.status == 200, "a session in use expired at the follower: \(poll.status) \(poll.text)")
                if poll.status != 200 { return }
            }
            for replica in cluster.replicas {
                #expect(try await alice.at(replica).inbox().status == 200, "replica \(replica.id) expired a session in use")
            }
            #expect(try await alice.at(leader).send(to: "alice", "still here").status == 201)
        }

        @Test func aSessionUnusedForItsTTLIsRemovedAndRefusedOnEveryReplica() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--session-ttl", "1s"])
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let lastUse = ContinuousClock.now
            // Watched through /metrics, which does not use the session and so cannot keep it alive.
            for replica in cluster.replicas {
                _ = try await eventually(timeout: .seconds(10)) { try await Self.sessionCount(at: replica) == 0 ? true : nil }
            }
            #expect(ContinuousClock.now - lastUse >= .seconds(1), "the session expired before its TTL had passed")
            for replica in cluster.replicas {
                let refused = try await alice.at(replica).inbox()
                #expect(refused.status == 401, "replica \(replica.id) accepted an expired session: \(refused.status)")
                #expect(refused.headers.first(name: "WWW-Authenticate")?.hasPrefix("Bearer") == true)
            }
            let again = try await TestClient.shared.request(
                .POST, "\(leader.baseURL)/v1/sessions", json: ["username": "alice", "password": "password123"])
            #expect(again.status == 201, "logging in again after expiry must work")
        }

        static func sessionCount(at replica: ChatdProcess) async throws -> Int? {
            try await metricsGauge("chat_sessions", at: replica)
        }
    }
}
