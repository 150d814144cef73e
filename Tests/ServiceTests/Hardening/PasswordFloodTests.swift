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

        // Send-to-wake-up delays on this machine, at this moment, without a flood: the baseline.
        let baseline = try await Self.wakeLatencies(of: bob, sendingFrom: alice, rounds: 5, label: "quiet")

        let flood = Task {
            try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<24 {
                    group.addTask {
                        var statuses: [Int] = []
                        for _ in 0..<6 {
                            // The patient client: two dozen connections at once may wait in the listen queue.
                            let response = try await TestClient.patient.request(
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
        let duringFlood = try await Self.wakeLatencies(of: bob, sendingFrom: alice, rounds: 5, label: "flood")
        let statuses = try await flood.value
        #expect(statuses.contains(429), "a full hashing pool refuses with 429; saw \(Set(statuses))")
        #expect(statuses.allSatisfy { $0 == 401 || $0 == 429 }, "wrong passwords are 401 or 429: \(Set(statuses))")
        // Medians, against the baseline of this run, and a generous margin, so that a machine busy
        // with other tests does not fail it (single samples spiked to seconds there, flood or not);
        // with the hashes on the cooperative threads every wake-up waited for seconds.
        func median(_ samples: [Duration]) -> Duration { samples.sorted()[samples.count / 2] }
        #expect(
            median(duringFlood) < median(baseline) + .seconds(1),
            "send-to-wake-up: \(baseline) quiet, \(duringFlood) during the flood")
    }

    /// `rounds` times: `recipient` long-polls, `sender` sends, and the delay from the send's
    /// answer to the wake-up is measured.
    static func wakeLatencies(
        of recipient: ChatUser, sendingFrom sender: ChatUser, rounds: Int, label: String
    ) async throws -> [Duration] {
        // The patient client throughout: on a machine busy with other tests, a new connection
        // may wait in the listen queue longer than the shared client's connect timeout.
        let client = TestClient.patient
        var latencies: [Duration] = []
        for round in 0..<rounds {
            let body = "\(label) \(round) \(UUID().uuidString.prefix(6))"
            let waiting = Task {
                try await client.get("\(recipient.baseURL)/v1/inbox?wait=20", token: recipient.token)
            }
            try await Task.sleep(for: .milliseconds(100))
            let sent = ContinuousClock.now
            let send = try await client.request(
                .POST, "\(sender.baseURL)/v1/messages", token: sender.token, json: ["to": recipient.username, "body": body])
            #expect(send.status == 201)
            let woken = try await waiting.value
            latencies.append(ContinuousClock.now - sent)
            #expect(woken.bodies.contains(body))
            if let last = woken.messages.last?["seq"] as? Int {
                _ = try await client.request(
                    .POST, "\(recipient.baseURL)/v1/inbox/ack", token: recipient.token, json: ["up_to": last])
            }
        }
        return latencies
    }
}
