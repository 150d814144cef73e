import Foundation
import Testing

extension ClusterTests {
    /// A replica whose new cluster has not formed yet (its peers have not all answered).
    @Suite(.serialized) struct FormingCluster {
        /// Found by schemathesis's author: such a read used to wait in the driver's mailbox,
        /// which nothing drains until the cluster forms, and never got an answer.
        @Test func aReadThatNeedsTheLeaderIsAnswered503NoLeaderAtOnce() async throws {
            let replica = ChatdProcess(
                id: 1, peers: [1: try FreePort.next(), 2: try FreePort.next()], dataDirectory: TemporaryDirectory.make(),
                extraArguments: ["--cluster-secret", TestCluster.secret, "--request-timeout-ms", "1000"])
            try await replica.start()
            defer { replica.stop(signal: SIGKILL) }
            let started = ContinuousClock.now
            // An unknown token is looked up again after a linearizable read.
            let answer = try await TestClient.shared.request(
                .GET, "\(replica.baseURL)/v1/inbox?consistency=stale", token: "unknown-token", timeout: .seconds(20))
            #expect(answer.status == 503, "\(answer.status) \(answer.text)")
            #expect(answer.errorCode == "no_leader")
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }
}
