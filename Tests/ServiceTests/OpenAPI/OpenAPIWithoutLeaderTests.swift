import Foundation
import Testing

/// The documented `503`s and a `null` leader, from one replica of a three-replica cluster whose
/// peers never start, so it can never elect a leader.
@Suite struct OpenAPIWithoutLeaderTests {
    /// One leaderless replica shared by these tests; it only ever answers, never changes.
    actor LoneFollower {
        static let instance = LoneFollower()
        private var replica: Task<ChatdProcess, any Error>?

        func baseURL() async throws -> String {
            if replica == nil {
                replica = Task {
                    let peers = [1: try FreePort.next(), 2: try FreePort.next(), 3: try FreePort.next()]
                    let replica = ChatdProcess(
                        id: 1, peers: peers, dataDirectory: TemporaryDirectory.make(),
                        extraArguments: ["--cluster-secret", TestCluster.secret] + TestCluster.fastTiming)
                    try await replica.start()
                    return replica
                }
            }
            return try await replica!.value.baseURL
        }
    }

    static func connection() async throws -> OpenAPIConnection {
        OpenAPIConnection(baseURL: try await LoneFollower.instance.baseURL())
    }

    @Test func getClusterStatusWithoutALeaderDecodesANullLeader() async throws {
        let api = try await Self.connection()
        let status = try await api.client.getClusterStatus().ok.body.json
        #expect(status.leader == nil)
        #expect(status.role != .leader)
        #expect(status.members.count == 3)
        try await api.expectOnlyDocumentedFields(of: status, from: "getClusterStatus")
    }

    @Test func getReadinessWithoutALeaderIs503Unavailable() async throws {
        let api = try await Self.connection()
        let output = try await api.client.getReadiness()
        expectError(try output.serviceUnavailable.body.json, code: "unavailable")
    }

    @Test func createAccountWithoutALeaderIs503NoLeaderWithRetryAfter() async throws {
        let api = try await Self.connection()
        let unavailable = try await api.client.createAccount(body: .json(.init(username: uniqueName("nl"), password: "password123")))
            .serviceUnavailable
        #expect(unavailable.headers.Retry_hyphen_After != nil, "no_leader must come with Retry-After")
        expectError(try unavailable.body.json, code: "no_leader")
    }
}
