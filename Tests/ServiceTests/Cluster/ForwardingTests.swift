import Foundation
import NIOHTTP1
import Testing

extension ClusterTests {
    /// `Prefer: forward`: a follower carries a write out through the leader and answers it
    /// itself, for clients that drop credentials on a cross-origin redirect. Without the
    /// preference a follower answers 307 as before.
    @Suite(.serialized) struct Forwarding {
        static let forward = [("Prefer", "forward")]

        @Test func withoutThePreferenceAFollowerAnswers307ThatSaysWhatToDo() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0]
            let answer = try await alice.at(follower).send(to: "alice", "hi")
            #expect(answer.status == 307)
            #expect(answer.headers.first(name: "Location") == "\(leader.baseURL)/v1/messages")
            #expect(answer.headers.first(name: "Preference-Applied") == nil)
            let message = (answer.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("Prefer: forward") && message.contains("--location-trusted"),
                    "the 307 must say how to get the write done: \(message)")
        }

        /// Found by hand: the path reached the leader decoded, so `alice%3Fjunk` became
        /// `alice?junk`, and alice's account was deleted by a request naming another.
        @Test func aForwardedOrRedirectedWriteNamesTheSamePathAtTheLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0].baseURL
            let redirected = try await TestClient.shared.request(
                .DELETE, "\(follower)/v1/accounts/alice%3Fjunk", token: alice.token)
            #expect(redirected.status == 307)
            #expect(redirected.headers.first(name: "Location") == "\(leader.baseURL)/v1/accounts/alice%3Fjunk")
            let forwarded = try await TestClient.shared.request(
                .DELETE, "\(follower)/v1/accounts/alice%3Fjunk", token: alice.token, headers: Self.forward)
            #expect(forwarded.status == 404, "\(forwarded.status) \(forwarded.text)")
            let still = try await TestClient.shared.request(.GET, "\(leader.baseURL)/v1/accounts?pattern=alice", token: alice.token)
            #expect(still.status == 200 && still.text.contains("\"alice\""), "alice's account is gone: \(still.status) \(still.text)")
        }

        @Test func everyWriteWithPreferForwardAtAFollowerIsCarriedOutThroughTheLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let follower = cluster.followers(of: leader)[0].baseURL
            let client = TestClient.shared
            func expectForwarded(_ answer: TestClient.Response, _ status: Int, _ what: String) {
                #expect(answer.status == status, "\(what): \(answer.status) \(answer.text)")
                #expect(answer.headers.first(name: "Preference-Applied") == "forward", "\(what) lacks Preference-Applied")
            }
            let credentials = ["username": "alice", "password": "password123"]
            expectForwarded(try await client.request(.POST, "\(follower)/v1/accounts", json: credentials, headers: Self.forward), 201, "sign-up")
            _ = try await client.request(.POST, "\(follower)/v1/accounts", json: ["username": "bob", "password": "password123"], headers: Self.forward)
            let login = try await client.request(.POST, "\(follower)/v1/sessions", json: credentials, headers: Self.forward)
            expectForwarded(login, 201, "log-in")
            let token = try #require(login.json["token"] as? String)
            let sent = try await client.request(
                .POST, "\(follower)/v1/messages", token: token, json: ["to": "alice", "body": "through the leader"],
                headers: Self.forward)
            expectForwarded(sent, 201, "send")
            #expect(try await ChatUser(baseURL: leader.baseURL, username: "alice", token: token).inbox().bodies == ["through the leader"])
            expectForwarded(try await client.request(
                .POST, "\(follower)/v1/inbox/ack", token: token, json: ["up_to": 1], headers: Self.forward), 200, "ack")
            expectForwarded(try await client.request(
                .DELETE, "\(follower)/v1/accounts/bob", token: token, headers: Self.forward), 403, "deleting another's account")
            expectForwarded(try await client.request(
                .DELETE, "\(follower)/v1/sessions/current", token: token, headers: Self.forward), 204, "log-out")
            #expect(try await client.get("\(leader.baseURL)/v1/inbox", token: token).status == 401, "the log-out took effect")
            let again = try await client.request(.POST, "\(follower)/v1/sessions", json: credentials, headers: Self.forward)
            let second = try #require(again.json["token"] as? String)
            expectForwarded(try await client.request(
                .DELETE, "\(follower)/v1/accounts/alice", token: second, headers: Self.forward), 204, "deleting one's account")
        }

        @Test func aForwardedSendRetriedWithItsKeyAfterTheLeaderDiedIsStoredOnce() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let followers = cluster.followers(of: leader)
            let headers = Self.forward + [("Idempotency-Key", "one-message")]
            let first = try await TestClient.shared.request(
                .POST, "\(followers[0].baseURL)/v1/messages", token: alice.token, json: ["to": "alice", "body": "once"],
                headers: headers)
            #expect(first.status == 201)
            leader.stop(signal: SIGKILL)
            // The retry goes to the other follower, through whichever replica leads now.
            let retry = try await eventually(timeout: .seconds(10)) { () -> TestClient.Response? in
                let answer = try await TestClient.shared.request(
                    .POST, "\(followers[1].baseURL)/v1/messages", token: alice.token, json: ["to": "alice", "body": "once"],
                    headers: headers)
                return answer.status == 201 ? answer : nil
            }
            #expect(retry.json["id"] as? String == first.json["id"] as? String, "the retry must replay the first answer")
            #expect(retry.headers.first(name: "Preference-Applied") == "forward")
            #expect(try await alice.at(followers[1]).inbox().bodies == ["once"])
        }

        /// Right after a kill -9 the followers still name the dead leader; a forwarded send with a
        /// key waits for the next leader instead of failing (the key makes a second try safe,
        /// whether or not the dead leader had taken the first).
        @Test func aForwardedKeyedSendWhoseLeaderDiedGoesToTheNextLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0]
            leader.stop(signal: SIGKILL)
            let answer = try await TestClient.shared.request(
                .POST, "\(follower.baseURL)/v1/messages", token: alice.token, json: ["to": "alice", "body": "after the crash"],
                headers: Self.forward + [("Idempotency-Key", "after-the-crash")])
            #expect(answer.status == 201, "\(answer.status) \(answer.text)")
            #expect(answer.headers.first(name: "Preference-Applied") == "forward")
            #expect(try await alice.at(follower).inbox().bodies == ["after the crash"])
        }

        @Test func aFollowerThatKnowsNoLeaderAnswers503NoLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let survivor = cluster.followers(of: leader)[0]
            for replica in cluster.replicas where replica.id != survivor.id { replica.stop(signal: SIGKILL) }
            let refusal = try await eventually(timeout: .seconds(10)) { () -> TestClient.Response? in
                let answer = try await TestClient.shared.request(
                    .POST, "\(survivor.baseURL)/v1/messages", token: alice.token, json: ["to": "alice", "body": "lost"],
                    headers: Self.forward)
                return answer.errorCode == "no_leader" ? answer : nil
            }
            #expect(refusal.status == 503)
            #expect(refusal.headers.first(name: "Retry-After") != nil)
        }

        /// A 3-replica cluster whose leader is paused (SIGSTOP) once alice is registered.
        struct PausedLeader {
            let cluster: TestCluster
            let leader: ChatdProcess
            let follower: ChatdProcess
            let alice: ChatUser
            private let leaderPID: Int32

            init(writeTimeoutMilliseconds: Int) async throws {
                cluster = try await TestCluster.started(size: 3, extraArguments: ["--request-timeout-ms", "\(writeTimeoutMilliseconds)"])
                leader = try await cluster.waitForLeader()
                leaderPID = try #require(leader.process?.processIdentifier)
                alice = try await ChatUser.register("alice", at: leader.baseURL)
                follower = cluster.followers(of: leader)[0]
                kill(leaderPID, SIGSTOP)
            }

            func resume() { kill(leaderPID, SIGCONT) }

            func stop() {
                resume()
                cluster.stopAll()
            }
        }

        /// A leader that stops answering (paused here) must not hold a forwarded write past the
        /// write timeout (one second here) and a small margin.
        @Test func aForwardedWriteToALeaderThatStoppedAnsweringIsAnsweredInBoundedTime() async throws {
            let paused = try await PausedLeader(writeTimeoutMilliseconds: 1000)
            defer { paused.stop() }
            let (alice, follower) = (paused.alice, paused.follower)
            let started = ContinuousClock.now
            // Without a key the write may have been made, so it is not tried at the next leader.
            let answer = try await TestClient.shared.request(
                .POST, "\(follower.baseURL)/v1/messages", token: alice.token, json: ["to": "alice", "body": "stuck?"],
                headers: Self.forward)
            let elapsed = ContinuousClock.now - started
            #expect(answer.status == 503, "\(answer.status) \(answer.text)")
            #expect(elapsed < .seconds(6), "a forwarded write waited \(elapsed)")
        }

        /// A send with a key that a paused leader holds is carried out by the leader elected
        /// meanwhile, and stored once even after the paused one wakes up with the request.
        @Test func aForwardedKeyedSendHeldByAPausedLeaderIsCarriedOutByTheNextLeader() async throws {
            let paused = try await PausedLeader(writeTimeoutMilliseconds: 3000)
            defer { paused.stop() }
            let (alice, follower, leader) = (paused.alice, paused.follower, paused.leader)
            let answer = try await TestClient.shared.request(
                .POST, "\(follower.baseURL)/v1/messages", token: alice.token, json: ["to": "alice", "body": "while paused"],
                headers: Self.forward + [("Idempotency-Key", "while-paused")])
            #expect(answer.status == 201, "\(answer.status) \(answer.text)")
            paused.resume()
            // The woken replica has caught up once it serves the message on a linearizable read.
            let bodies = try await eventually(timeout: .seconds(10)) { () -> [String]? in
                let inbox = try await alice.at(leader).inbox()
                return inbox.status == 200 && !inbox.bodies.isEmpty ? inbox.bodies : nil
            }
            #expect(bodies == ["while paused"], "the send was stored \(bodies.count) times")
        }

        /// What the leader refuses is refused at the follower too: a key that could not be relayed
        /// as sent would otherwise reach the leader missing (a send without deduplication) or
        /// break the relay (a 503 for bad input). A header the leader ignores does not matter.
        @Test func aForwardedSendIsJudgedByItsKeyAsTheLeaderWouldJudgeIt() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0]
            let body = Array(#"{"to":"alice","body":"hello"}"#.utf8)
            func send(extraHeader: [UInt8]) throws -> Int? {
                let head = "POST /v1/messages HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(alice.token)\r\n"
                    + "Prefer: forward\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
                let connection = try RawHTTPConnection(port: follower.port)
                connection.send(Array(head.utf8) + extraHeader + Array("\r\n\r\n".utf8) + body)
                return connection.readStatus()
            }
            for (name, key) in IdempotencyKeyValidationTests.badKeys {
                let status = try send(extraHeader: Array("Idempotency-Key: ".utf8) + key)
                #expect(status == 400, "a forwarded send whose key has \(name) answered \(status.map(String.init) ?? "nothing")")
            }
            #expect(try await alice.inbox().messages.isEmpty, "a send with a bad key went through")
            let ignored = try send(extraHeader: Array("X-Note: a\u{1}b".utf8))
            #expect(ignored == 201, "a header the leader ignores broke the relay: \(ignored.map(String.init) ?? "nothing")")
        }

        @Test func aRequestForwardedOnceIsNeverForwardedAgain() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0]
            let answer = try await TestClient.shared.request(
                .POST, "\(follower.baseURL)/v1/messages", token: alice.token, json: ["to": "alice", "body": "loop?"],
                headers: Self.forward + [("X-Chat-Forwarded-By", "9")])
            #expect(answer.status == 307, "a replica that forwarded must not be sent round again: \(answer.status)")
        }
    }
}
