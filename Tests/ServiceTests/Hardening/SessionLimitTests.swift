import Foundation
import Testing

extension ClusterTests {
    /// `--max-sessions-per-account`: logging in beyond the limit closes the account's least
    /// recently used session on every replica, so sessions cannot pile up without bound.
    @Suite(.serialized) struct SessionLimit {
        @Test func loggingInBeyondTheLimitClosesTheOldestSessionEverywhereAndEndsItsLongPoll() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--max-sessions-per-account", "2"])
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let follower = cluster.followers(of: leader)[0]
            let first = try await ChatUser.register("alice", at: leader.baseURL)
            let second = try await Self.logIn("alice", at: leader)
            #expect(try await first.at(follower).inbox().status == 200, "two sessions are within the limit")
            let poll = Task { try await first.at(follower).inbox("after=0&wait=30") }
            _ = try await eventually(timeout: .seconds(10)) { (try await metricsGauge("chat_waiting_long_polls", at: follower) ?? 0) >= 1 ? true : nil }
            let started = ContinuousClock.now
            let third = try await Self.logIn("alice", at: leader)
            let ended = try await poll.value
            #expect(ended.status == 401, "the closed session's long-poll was answered \(ended.status): \(ended.text)")
            #expect(ContinuousClock.now - started < .seconds(10), "the closed session's long-poll waited out its time")
            for replica in cluster.replicas {
                let closed = try await eventually(timeout: .seconds(5)) {
                    let status = try await first.at(replica).inbox().status
                    return status == 401 ? status : nil
                }
                #expect(closed == 401, "replica \(replica.id) still accepts the oldest session")
                #expect(try await second.at(replica).inbox().status == 200, "replica \(replica.id) closed a newer session")
                #expect(try await third.at(replica).inbox().status == 200, "replica \(replica.id) refused the new session")
            }
            for replica in cluster.replicas {
                let count = try await eventually(timeout: .seconds(5)) { try await SessionExpiry.sessionCount(at: replica) == 2 ? 2 : nil }
                #expect(count == 2, "replica \(replica.id) holds more sessions than the limit")
            }
        }

        static func logIn(_ username: String, at replica: ChatdProcess) async throws -> ChatUser {
            let response = try await TestClient.shared.request(
                .POST, "\(replica.baseURL)/v1/sessions", json: ["username": username, "password": "password123"])
            guard response.status == 201, let token = response.json["token"] as? String else {
                throw TestFailure("logging in answered \(response.status): \(response.text)")
            }
            return ChatUser(baseURL: replica.baseURL, username: username, token: token)
        }
    }
}
