import Foundation

/// Sends numbered messages as one user, following the leader through failovers and retrying
/// each message with its own Idempotency-Key until it is acknowledged.
struct FailoverSender {
    let cluster: TestCluster
    let user: ChatUser

    func sendUntilStopped(to recipient: String, log: SendLog, stop: StopFlag) async throws {
        var index = 0
        var replica = cluster.replicas[0]
        while await !stop.isSet {
            index += 1
            let body = "\(user.username)-\(index)"
            let key = UUID().uuidString
            while true {
                if let response = try? await user.at(replica).send(to: recipient, body, key: key) {
                    if response.status == 201 {
                        await log.acknowledge(body)
                        break
                    }
                    if response.status == 307, let location = response.headers.first(name: "Location"),
                       let next = cluster.replicas.first(where: { location.hasPrefix($0.baseURL) }) {
                        replica = next
                        continue
                    }
                }
                replica = cluster.running.randomElement() ?? replica
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

actor SendLog {
    private(set) var bodies: [String] = []
    private var times: [ContinuousClock.Instant] = []
    var count: Int { bodies.count }

    func acknowledge(_ body: String) {
        bodies.append(body)
        times.append(.now)
    }

    func firstAcknowledgement(after instant: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        times.first { $0 > instant }
    }
}

actor StopFlag {
    private(set) var isSet = false
    func set() { isSet = true }
}

/// Retries `check` until it returns a value or `timeout` passes.
func eventually<T>(timeout: Duration, _ check: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try? await check() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("condition not met within \(timeout)")
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

extension ChatUser {
    /// Every message in the inbox, paging with `after`.
    func allMessages() async throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var after = 0
        while true {
            let page = try await inbox("after=\(after)&limit=1000")
            guard let last = page.messages.last?["seq"] as? Int else { return all }
            all += page.messages
            after = last
        }
    }
}
