import Foundation
import Testing

extension ClusterTests {
    /// `chat login` keeps the token it gets, or leaves no session behind.
    @Suite struct ChatLogin {
        @Test func aLoginWhoseTokenCannotBeSavedClosesItsSessionAgain() async throws {
            let cluster = try await TestCluster.started(size: 1)
            defer { cluster.stopAll() }
            let replica = try await cluster.waitForLeader()
            let created = try await TestClient.shared.request(
                .POST, "\(replica.baseURL)/v1/accounts", json: ["username": "alice", "password": "password123"])
            try #require(created.status == 201, "\(created.status) \(created.text)")
            // Under /dev/null no folder can be made, so the configuration file cannot be written.
            let unwritable = "/dev/null/chat/config.json"
            let login = try runChat(
                ["login", "alice", "--cluster", replica.baseURL, "--timeout", "5"],
                environment: ["CHAT_PASSWORD": "password123", "CHAT_CONFIG": unwritable])
            #expect(login.status != 0 && login.output.contains(unwritable), "\(login)")
            let sessions = try await metricsGauge("chat_sessions", at: replica)
            #expect(sessions == 0, "the session of the token that could not be saved is still open")
        }
    }
}
