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

    /// Each stage of a send through the leader, from the request reaching the API to the
    /// handler resuming with the applied result, is a histogram in `/metrics`.
    @Test func metricsBreakASendIntoStages() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let user = try await ChatUser.register("stages-\(UInt32.random(in: 0...UInt32.max))", at: base)
        #expect(try await user.send(to: user.username, "timed").status == 201)
        let text = try await TestClient.shared.get("\(base)/metrics").text
        for stage in ["authenticate", "validate", "to_driver", "leader_persist", "quorum", "apply", "resume_handler", "total"] {
            let count = text.split(separator: "\n").first {
                $0.hasPrefix("chat_write_stage_seconds_count{stage=\"\(stage)\"}")
            }
            let value = count.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            #expect(value >= 1, "no send was timed through stage \(stage): \(count.map(String.init) ?? "missing")")
        }
    }
}
