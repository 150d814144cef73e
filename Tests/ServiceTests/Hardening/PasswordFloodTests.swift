import Foundation
import Testing

/// Password hashing runs on a bounded pool of its own: a flood of logins with wrong passwords
/// is refused with 429 once the pool is full, and never delays sends or long-poll wake-ups.
@Suite(.serialized) struct PasswordFloodTests {
    @Test func aLoginFloodIsRefusedWith429AndDoesNotDelayWakeUps() async throws {
        // Real-sized hashes (tests usually run with 1,000 rounds), so that a flood is expensive.
        let replica = try await ChatdProcess.single(
            extraArguments: ["--insecure-password-rounds", "100000", "--password-check-queue", "8"])
        defer { replica.stop() }
        let base = replica.baseURL
        let alice = try await ChatUser.register(uniqueName("flood"), at: base)
        let bob = try await ChatUser.register(uniqueName("flood"), at: base)

        let flood = Task {
            try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<24 {
                    group.addTask {
                        var statuses: [Int] = []
                        for _ in 0..<6 {
                            let response = try await TestClient.shared.request(
                                .POST, "\(base)/v1/sessions", json: ["username": alice.username, "password": "wrong password"])
                            statuses.append(response.status)
                            if response.status == 429 {
                                #expect(response.headers.first(name: "Retry-After") != nil, "a 429 says when to retry")
                            }
                        }
                        return statuses
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        var wakeLatencies: [Duration] = []
        for round in 0..<3 {
            let waiting = Task { try await bob.inbox("wait=20") }
            try await Task.sleep(for: .milliseconds(100))
            let sent = ContinuousClock.now
            let send = try await alice.send(to: bob.username, "during the flood \(round)")
            #expect(send.status == 201)
            let woken = try await waiting.value
            wakeLatencies.append(ContinuousClock.now - sent)
            #expect(woken.bodies.contains("during the flood \(round)"))
            _ = try await bob.ack(upTo: round + 1)
        }
        let statuses = try await flood.value
        #expect(statuses.contains(429), "a full hashing pool refuses with 429; saw \(Set(statuses))")
        #expect(statuses.allSatisfy { $0 == 401 || $0 == 429 }, "wrong passwords are 401 or 429: \(Set(statuses))")
        // Generous on purpose: hashes on the cooperative threads would hold wake-ups for seconds.
        #expect(wakeLatencies.allSatisfy { $0 < .seconds(1) }, "send-to-wake-up during the flood: \(wakeLatencies)")
    }
}
