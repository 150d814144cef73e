import Foundation
import Testing

/// `GET /v1/cluster`, `/healthz`, `/readyz` and `/metrics` through the generated client.
@Suite struct OpenAPIOperationsTests {
    @Test func getClusterStatusDescribesALoneLeaderInDocumentedFields() async throws {
        let api = try await OpenAPIConnection.shared()
        let status = try await api.client.getClusterStatus().ok.body.json
        #expect(status.id == 1)
        #expect(status.role == .leader)
        #expect(status.leader?.id == 1)
        #expect(status.leader?.url == api.baseURL)
        #expect(status.term >= 1)
        #expect(status.applied_index <= status.commit_index)
        #expect(status.members.map(\.id) == [1])
        try await api.expectOnlyDocumentedFields(of: status, from: "getClusterStatus")
    }

    @Test func getHealthAnswersOk() async throws {
        let api = try await OpenAPIConnection.shared()
        let health = try await api.client.getHealth().ok.body.json
        #expect(health.status == .ok)
        try await api.expectOnlyDocumentedFields(of: health, from: "getHealth")
    }

    @Test func getReadinessOfALoneLeaderAnswersReady() async throws {
        let api = try await OpenAPIConnection.shared()
        let readiness = try await api.client.getReadiness().ok.body.json
        #expect(readiness.status == .ready)
        try await api.expectOnlyDocumentedFields(of: readiness, from: "getReadiness")
    }

    @Test func getMetricsAnswersPrometheusPlainText() async throws {
        let api = try await OpenAPIConnection.shared()
        let body = try await api.client.getMetrics().ok.body.plainText
        let text = try await String(collecting: body, upTo: ExchangeRecorder.responseSizeMaximum)
        #expect(api.exchanges.last("getMetrics")?.contentType?.hasPrefix("text/plain") == true)
        #expect(text.contains("# TYPE chat_http_requests_total"), "metrics lack chat_http_requests_total: \(text.prefix(300))")
        let samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(!samples.isEmpty)
        for sample in samples {
            #expect(Double(sample.split(separator: " ").last ?? "") != nil, "not a Prometheus sample: \(sample)")
        }
    }
}
