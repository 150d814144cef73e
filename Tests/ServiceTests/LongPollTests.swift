import Foundation
import Testing

/// Long-polls on replicas of their own, so other tests' load does not blur what they measure.
@Suite(.serialized) struct LongPollTests {
    @Test func aLongPollIsWokenBySendAtOnce() async throws {
        let replica = try await ChatdProcess.single()
        let alice = try await ChatUser.register("alice", at: replica.baseURL)
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        let poll = Task { () async throws -> (TestClient.Response, ContinuousClock.Instant) in
            let response = try await bob.inbox("wait=30")
            return (response, ContinuousClock.now)
        }
        try await waitForWaitingLongPolls(atLeast: 1, base: replica.baseURL)
        _ = try await alice.send(to: bob.username, "wake")
        let sendAnswered = ContinuousClock.now
        let (response, pollAnswered) = try await poll.value
        // The poll is answered when the message is applied, which happens before the send's own
        // answer; allow for the two responses racing back to this process, on a loaded machine
        // too (how fast is the delivery benchmark's to say; the wait asked for is 30 s).
        let elapsed = pollAnswered - sendAnswered
        #expect(response.bodies == ["wake"])
        #expect(elapsed < .seconds(1), "woken after \(elapsed)")
    }

    @Test func aThousandConcurrentLongPollsAreAllWoken() async throws {
        let replica = try await ChatdProcess.single()
        let base = replica.baseURL
        let alice = try await ChatUser.register("alice", at: base)
        let bob = try await ChatUser.register("bob", at: base)
        let count = 1000
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await TestClient.patient.get("\(base)/v1/inbox?wait=30", token: bob.token).messages.count
                }
            }
            try await waitForWaitingLongPolls(atLeast: count, base: base)
            _ = try await alice.send(to: bob.username, "everyone")
            var woken = 0
            for try await delivered in group where delivered == 1 { woken += 1 }
            #expect(woken == count)
        }
    }

    @Test func aLongPollWhoseAccountIsDeletedWhileItWaitsIsAnswered401AtOnce() async throws {
        let replica = try await ChatdProcess.single()
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        let poll = Task { try await bob.inbox("wait=30") }
        try await waitForWaitingLongPolls(atLeast: 1, base: replica.baseURL)
        let started = ContinuousClock.now
        let deleted = try await TestClient.shared.request(.DELETE, "\(replica.baseURL)/v1/accounts/bob", token: bob.token)
        #expect(deleted.status == 204)
        let response = try await poll.value
        #expect(response.status == 401, "a deleted account's long-poll answered \(response.status)")
        #expect(ContinuousClock.now - started < .seconds(5), "the long-poll waited out its deadline instead of waking")
    }

    @Test func aLongPollWhoseSessionEndsWhileItWaitsIsAnswered401AtOnce() async throws {
        let replica = try await ChatdProcess.single()
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        let poll = Task { try await bob.inbox("wait=30") }
        try await waitForWaitingLongPolls(atLeast: 1, base: replica.baseURL)
        let started = ContinuousClock.now
        let loggedOut = try await TestClient.shared.request(.DELETE, "\(replica.baseURL)/v1/sessions/current", token: bob.token)
        #expect(loggedOut.status == 204)
        #expect(try await poll.value.status == 401, "a revoked session must not read the inbox after its wait")
        #expect(ContinuousClock.now - started < .seconds(5), "the long-poll waited out its deadline instead of waking")
    }

    @Test func aLongPollWhoseSessionEndsBeforeAMessageArrivesIsAnswered401NotTheMessage() async throws {
        let replica = try await ChatdProcess.single()
        let alice = try await ChatUser.register("alice", at: replica.baseURL)
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        let poll = Task { try await bob.inbox("consistency=stale&after=0&wait=30") }
        try await waitForWaitingLongPolls(atLeast: 1, base: replica.baseURL)
        let loggedOut = try await TestClient.shared.request(.DELETE, "\(replica.baseURL)/v1/sessions/current", token: bob.token)
        #expect(loggedOut.status == 204)
        _ = try await alice.send(to: bob.username, "too late")
        let response = try await poll.value
        #expect(response.status == 401, "a closed session's long-poll was answered \(response.status): \(response.bodies)")
    }

    /// Found by probing: messages at or before its position woke it, and it answered empty
    /// long before its wait ran out.
    @Test func aLongPollFromAPositionAheadOfItsInboxWaitsForAMessageBeyondIt() async throws {
        let replica = try await ChatdProcess.single()
        let alice = try await ChatUser.register("alice", at: replica.baseURL)
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        let poll = Task { try await bob.inbox("consistency=stale&after=2&wait=30") }
        try await waitForWaitingLongPolls(atLeast: 1, base: replica.baseURL)
        for body in ["one", "two", "three"] {
            #expect(try await alice.send(to: bob.username, body).status == 201)
        }
        let response = try await poll.value
        #expect(response.status == 200)
        #expect(response.bodies == ["three"], "the long-poll answered before a message after its position came")
    }

    @Test func aLongPollAheadOfItsInboxWhoseSessionClosesIsAnswered401() async throws {
        let replica = try await ChatdProcess.single()
        let alice = try await ChatUser.register("alice", at: replica.baseURL)
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        let poll = Task { try await bob.inbox("consistency=stale&after=5&wait=30") }
        try await waitForWaitingLongPolls(atLeast: 1, base: replica.baseURL)
        #expect(try await alice.send(to: bob.username, "one").status == 201)
        #expect(try await TestClient.shared.request(.DELETE, "\(replica.baseURL)/v1/sessions/current", token: bob.token).status == 204)
        let started = ContinuousClock.now
        let response = try await poll.value
        #expect(response.status == 401, "\(response.status) \(response.text)")
        #expect(ContinuousClock.now - started < .seconds(10), "it waited out its time")
    }

    @Test func aStaleLongPollThatKeepsUpGetsEachMessageOnceInOrder() async throws {
        let replica = try await ChatdProcess.single()
        let alice = try await ChatUser.register("alice", at: replica.baseURL)
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        var after = 0
        for number in 1...4 {
            let poll = Task { [after] in try await bob.inbox("consistency=stale&after=\(after)&wait=30") }
            try await waitForWaitingLongPolls(atLeast: 1, base: replica.baseURL)
            _ = try await alice.send(to: bob.username, "message \(number)")
            let response = try await poll.value
            #expect(response.status == 200)
            #expect(response.bodies == ["message \(number)"], "poll \(number) after \(after)")
            after = try #require(response.json["next_after"] as? Int)
            #expect(after == number, "next_after of poll \(number)")
        }
        let caughtUp = try await bob.inbox("consistency=stale&after=\(after)")
        #expect(caughtUp.status == 200 && caughtUp.bodies.isEmpty, "nothing after the last message: \(caughtUp.bodies)")
        let fromStart = try await bob.inbox("consistency=stale&after=1")
        #expect(fromStart.bodies == ["message 2", "message 3", "message 4"], "an earlier position reads the inbox")
    }

    func waitForWaitingLongPolls(atLeast count: Int, base: String) async throws {
        let deadline = ContinuousClock.now + .seconds(25)
        while ContinuousClock.now < deadline {
            if try await waitingLongPolls(base: base) >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("fewer than \(count) long-polls were waiting")
    }

    /// The replica's `chat_waiting_long_polls` gauge.
    func waitingLongPolls(base: String) async throws -> Int {
        let metrics = try await TestClient.shared.get("\(base)/metrics").text
        guard let line = metrics.split(separator: "\n").first(where: { $0.hasPrefix("chat_waiting_long_polls ") }),
              let value = Double(line.split(separator: " ").last ?? "")
        else { throw TestFailure("/metrics has no chat_waiting_long_polls") }
        return Int(value)
    }

    /// The gauge once it reads 0, or after 10 s (a sixth of the waits those tests make).
    func waitingLongPollsOnceNoneWait(base: String) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        var waiting = try await waitingLongPolls(base: base)
        while waiting > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            waiting = try await waitingLongPolls(base: base)
        }
        return waiting
    }

    /// libmicrohttpd does not watch a suspended connection: without a watch of its own the
    /// replica would hold these until their 60 s ran out.
    @Test func longPollsWhoseClientsLeaveEndWithoutWaitingOutTheirTime() async throws {
        let replica = try await ChatdProcess.single()
        defer { replica.stop() }
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        let port = URL(string: replica.baseURL)!.port!
        var clients: [RawHTTPConnection] = []
        for _ in 0..<20 {
            let client = try RawHTTPConnection(port: port)
            client.send("GET /v1/inbox?wait=60 HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(bob.token)\r\n\r\n")
            clients.append(client)
        }
        try await waitForWaitingLongPolls(atLeast: 20, base: replica.baseURL)
        clients.removeAll()
        let waiting = try await waitingLongPollsOnceNoneWait(base: replica.baseURL)
        #expect(waiting == 0, "\(waiting) long-polls of clients that left still wait")
    }

    /// The second long-poll of a keep-alive connection is watched anew: the first one's watch,
    /// never triggered, must not stand in for it.
    @Test func aKeepAliveConnectionsNextLongPollEndsWhenItsClientLeaves() async throws {
        let replica = try await ChatdProcess.single()
        defer { replica.stop() }
        let bob = try await ChatUser.register("bob", at: replica.baseURL)
        var client: RawHTTPConnection? = try RawHTTPConnection(port: URL(string: replica.baseURL)!.port!)
        let poll = { (wait: Int) in "GET /v1/inbox?wait=\(wait) HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(bob.token)\r\n\r\n" }
        client?.send(poll(1))
        #expect(client?.read(until: "next_after").hasPrefix("HTTP/1.1 200") == true, "the first long-poll was not answered")
        client?.send(poll(60))
        try await waitForWaitingLongPolls(atLeast: 1, base: replica.baseURL)
        client = nil
        let waiting = try await waitingLongPollsOnceNoneWait(base: replica.baseURL)
        #expect(waiting == 0, "the second long-poll of a connection whose client left still waits")
    }
}
