import Foundation
import Testing

@Suite struct OperationsEndpointTests {
    @Test func healthzAnswers200() async throws {
        let base = try await SharedReplica.instance.baseURL()
        #expect(try await TestClient.shared.get("\(base)/healthz").status == 200)
    }

    @Test func aLoneReplicaIsReady() async throws {
        let base = try await SharedReplica.instance.baseURL()
        #expect(try await TestClient.shared.get("\(base)/readyz").status == 200)
    }

    @Test func clusterShowsTheReplicasOwnView() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let cluster = try await TestClient.shared.get("\(base)/v1/cluster").json
        #expect(cluster["id"] as? Int == 1)
        #expect(cluster["role"] as? String == "leader")
        #expect((cluster["leader"] as? [String: Any])?["url"] as? String == base)
        #expect(cluster["commit_index"] is Int)
        #expect(cluster["applied_index"] is Int)
        #expect((cluster["members"] as? [[String: Any]])?.count == 1)
    }

    @Test func metricsExposeRequestsLatencyLongPollsAndSizes() async throws {
        let base = try await SharedReplica.instance.baseURL()
        _ = try await TestClient.shared.get("\(base)/healthz")
        let response = try await TestClient.shared.get("\(base)/metrics")
        #expect(response.status == 200)
        #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
        for name in ["chat_http_requests_total", "chat_http_request_duration_seconds_bucket", "chat_waiting_long_polls",
                     "chat_accounts", "chat_stored_messages"] {
            #expect(response.text.contains(name), "metrics lack \(name)")
        }
    }
}
