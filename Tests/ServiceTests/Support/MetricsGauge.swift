import Foundation

/// The value of an unlabelled gauge in `replica`'s `/metrics`, or nil when it is not there.
func metricsGauge(_ name: String, at replica: ChatdProcess) async throws -> Int? {
    let metrics = try await TestClient.shared.get("\(replica.baseURL)/metrics").text
    let line = metrics.split(separator: "\n").first { $0.hasPrefix("\(name) ") }
    return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) }
}
