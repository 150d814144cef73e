import Foundation
import Testing

@Suite struct DurabilityTests {
    @Test func killNineDuringSendsLosesNoAcknowledgedMessage() async throws {
        let replica = try await ChatdProcess.single()
        let alice = try await ChatUser.register("alice", at: replica.baseURL)
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        let acknowledged = AcknowledgedBodies()
        let senders = (0..<4).map { sender in
            Task {
                for index in 0..<2000 {
                    guard let response = try? await alice.send(to: "bob", "s\(sender)-\(index)"),
                          response.status == 201
                    else { return }
                    await acknowledged.add("s\(sender)-\(index)")
                }
            }
        }
        while await acknowledged.count < 200 { try await Task.sleep(for: .milliseconds(5)) }
        replica.stop(signal: SIGKILL)
        for sender in senders { await sender.value }
        let before = await acknowledged.all

        try await replica.start()
        try await replica.waitUntil(path: "/readyz")
        var delivered: [String] = []
        var after = 0
        while true {
            let page = try await bob.inbox("after=\(after)&limit=1000")
            #expect(page.status == 200)
            delivered += page.bodies
            guard let last = page.messages.last?["seq"] as? Int else { break }
            after = last
        }
        let missing = before.subtracting(delivered)
        #expect(missing.isEmpty, "\(missing.count) acknowledged messages were lost, e.g. \(missing.prefix(3))")
        #expect(Set(delivered).count == delivered.count, "a message was stored twice")
    }

    @Test func aCleanRestartKeepsAccountsSessionsAndUndeliveredMessages() async throws {
        let replica = try await ChatdProcess.single()
        let alice = try await ChatUser.register("alice", at: replica.baseURL)
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        _ = try await alice.send(to: "bob", "kept")
        replica.stop(signal: SIGTERM)
        try await replica.start()
        try await replica.waitUntil(path: "/readyz")
        #expect(try await bob.inbox().bodies == ["kept"], "the session and the message survive a restart")
        let names = try await TestClient.shared.get("\(replica.baseURL)/v1/accounts", token: alice.token).json["accounts"]
        #expect((names as? [[String: Any]])?.count == 2)
    }
}

actor AcknowledgedBodies {
    private(set) var all: Set<String> = []
    var count: Int { all.count }
    func add(_ body: String) { all.insert(body) }
}
