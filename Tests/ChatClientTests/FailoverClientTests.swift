import ChatClient
import Foundation
import Testing

@Suite("FailoverClient")
struct FailoverClientTests {
    let replicas = [
        URL(string: "http://a:8001")!, URL(string: "http://b:8002")!, URL(string: "http://c:8003")!,
    ]

    func makeClient(_ transport: ScriptedTransport, clock: ManualRetryClock, policy: FailoverPolicy = FailoverPolicy())
        -> FailoverClient
    {
        FailoverClient(replicas: replicas, transport: transport, policy: policy, clock: clock)
    }

    let post = APIRequest(
        method: .post, path: "/v1/messages", query: [URLQueryItem(name: "x", value: "1")],
        headers: ["Authorization": "Bearer t", "Idempotency-Key": "k1"], body: Data(#"{"to":"bob"}"#.utf8))

    @Test("follows a 307 to the leader with the same method, headers and body")
    func followsRedirect() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(
            [
                "a:8001": [.respond(.redirect(to: "http://b:8002/v1/messages?x=1"))],
                "b:8002": [.respond(.json(201, "{}"))],
            ], clock: clock)
        let client = makeClient(transport, clock: clock)

        let response = try await client.send(post)

        #expect(response.status == 201)
        let requests = transport.requests
        try #require(requests.count == 2)
        #expect(requests[0].url.absoluteString == "http://a:8001/v1/messages?x=1")
        #expect(requests[1].url.absoluteString == "http://b:8002/v1/messages?x=1")
        #expect(requests[1].method == .post)
        #expect(requests[1].headers == post.headers)
        #expect(requests[1].body == post.body)
        #expect(clock.sleeps.isEmpty)
        #expect(await client.preferredReplica == URL(string: "http://b:8002")!)
    }

    @Test("resolves a relative Location against the replica that redirected")
    func followsRelativeRedirect() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(
            [
                "a:8001": [.respond(.redirect(to: "/v1/messages?x=2")), .respond(.json(201, "{}"))],
            ], clock: clock)
        let client = makeClient(transport, clock: clock)

        _ = try await client.send(post)

        #expect(transport.requests.count == 2)
        #expect(transport.requests[1].url.absoluteString == "http://a:8001/v1/messages?x=2")
    }

    @Test("tries the replica that answered last first next time")
    func remembersLeader() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(
            [
                "a:8001": [.respond(.redirect(to: "http://c:8003/v1/messages?x=1"))],
                "c:8003": [.respond(.json(201, "{}")), .respond(.json(201, "{}"))],
            ], clock: clock)
        let client = makeClient(transport, clock: clock)

        _ = try await client.send(post)
        _ = try await client.send(post)

        #expect(transport.requests.map { $0.url.port } == [8001, 8003, 8003])
    }

    @Test("moves to the next replica when the connection is refused, after a backoff")
    func failsOverOnRefusedConnection() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(
            [
                "a:8001": [.refuse],
                "b:8002": [.respond(.json(200, "{}"))],
            ], clock: clock)
        let client = makeClient(transport, clock: clock)

        let response = try await client.send(post)

        #expect(response.status == 200)
        #expect(transport.requests.map { $0.url.port } == [8001, 8002])
        #expect(clock.sleeps == [.milliseconds(50)])
        #expect(await client.preferredReplica == URL(string: "http://b:8002")!)
    }

    @Test("moves on after a 503 and after a timeout, doubling the backoff each time")
    func failsOverOn503AndTimeout() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(
            [
                "a:8001": [
                    .respond(.error(503, code: "no_leader", headers: ["Retry-After": "1"])),
                    .respond(.json(200, "{}")),
                ],
                "b:8002": [.timeOut],
                "c:8003": [.respond(.error(503, code: "unavailable"))],
            ], clock: clock)
        let client = makeClient(transport, clock: clock)

        let response = try await client.send(post)

        #expect(response.status == 200)
        #expect(transport.requests.map { $0.url.port } == [8001, 8002, 8003, 8001])
        #expect(clock.sleeps == [.milliseconds(50), .milliseconds(100), .milliseconds(200)])
    }

    @Test("moves past one replica whose certificate cannot be verified")
    func failsOverPastOneUntrustedReplica() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(
            [
                "a:8001": [.presentUntrustedCertificate],
                "b:8002": [.respond(.json(200, "{}"))],
            ], clock: clock)
        let client = makeClient(transport, clock: clock)

        #expect(try await client.send(post).status == 200)
        #expect(transport.requests.map { $0.url.port } == [8001, 8002])
    }

    @Test("gives up at once when no replica's certificate can be verified, rather than at the timeout")
    func givesUpWhenEveryCertificateIsUntrusted() async throws {
        let clock = ManualRetryClock()
        let untrusted: [ScriptedTransport.Step] = Array(repeating: .presentUntrustedCertificate, count: 10)
        let transport = ScriptedTransport(["a:8001": untrusted, "b:8002": untrusted, "c:8003": untrusted], clock: clock)
        let client = makeClient(transport, clock: clock)

        await #expect {
            _ = try await client.send(post)
        } throws: { error in
            guard case ChatClientError.clusterUnavailable(_, let lastFailure) = error else { return false }
            return lastFailure.contains("TLS certificate cannot be verified (CERTIFICATE_VERIFY_FAILED)")
        }
        #expect(transport.requests.map { $0.url.port } == [8001, 8002, 8003], "each replica asked once")
    }

    @Test("gives up at once when the replicas it reaches are untrusted and the others unreachable")
    func givesUpWhenUntrustedAndUnreachable() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(
            ["a:8001": Array(repeating: .presentUntrustedCertificate, count: 10)], clock: clock)
        let client = makeClient(transport, clock: clock)

        await #expect {
            _ = try await client.send(post)
        } throws: { error in
            guard case ChatClientError.clusterUnavailable(_, let lastFailure) = error else { return false }
            return lastFailure.contains("CERTIFICATE_VERIFY_FAILED")
        }
        #expect(transport.requests.map { $0.url.port } == [8001, 8002, 8003], "each replica asked once")
    }

    @Test("reports a replica's 503 rather than another's refused connection when it gives up")
    func reportsTheLastAnswerOverSilence() async throws {
        let clock = ManualRetryClock()
        let noLeader: ScriptedTransport.Step = .respond(.error(503, code: "no_leader"))
        // a answers once, then is down like the others.
        let transport = ScriptedTransport(["a:8001": [noLeader]], clock: clock)
        let policy = FailoverPolicy(totalTimeout: .seconds(2), backoffInitial: .milliseconds(100), backoffMaximum: .milliseconds(400))
        let client = makeClient(transport, clock: clock, policy: policy)

        await #expect {
            _ = try await client.send(post)
        } throws: { error in
            "\(error)".hasSuffix("the last one: http://a:8001: 503 Service Unavailable: no_leader happened.")
        }
    }

    @Test("gives up when the total time runs out, having slept less than it")
    func givesUpAtDeadline() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport([:], clock: clock)
        let policy = FailoverPolicy(totalTimeout: .seconds(2), backoffInitial: .milliseconds(100), backoffMaximum: .milliseconds(400))
        let client = makeClient(transport, clock: clock, policy: policy)

        await #expect {
            _ = try await client.send(post)
        } throws: { error in
            guard case ChatClientError.clusterUnavailable(let attemptCount, let lastFailure) = error else {
                return false
            }
            return attemptCount == transport.requests.count && lastFailure.contains("refused")
        }
        #expect(clock.elapsed <= .seconds(2))
        #expect(clock.sleeps.prefix(4) == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(400)])
        #expect(await client.preferredReplica == nil)
    }

    @Test("limits each attempt to the attempt timeout plus the server's wait")
    func attemptTimeoutIncludesServerWait() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(["a:8001": [.respond(.json(200, "{}"))]], clock: clock)
        let client = makeClient(transport, clock: clock, policy: FailoverPolicy(attemptTimeout: .seconds(3)))
        let poll = APIRequest(method: .get, path: "/v1/inbox", serverWait: .seconds(30))

        _ = try await client.send(poll)

        #expect(transport.records.map(\.timeout) == [.seconds(33)])
    }

    @Test("treats a redirect loop as a failed replica")
    func redirectLoopFails() async throws {
        let clock = ManualRetryClock()
        let loop = TransportResponse.redirect(to: "http://a:8001/v1/messages")
        let transport = ScriptedTransport(
            [
                "a:8001": Array(repeating: .respond(loop), count: 10),
                "b:8002": [.respond(.json(201, "{}"))],
            ], clock: clock)
        let client = makeClient(transport, clock: clock, policy: FailoverPolicy(redirectCountMaximum: 3))

        let response = try await client.send(post)

        #expect(response.status == 201)
        #expect(transport.requests.map { $0.url.port } == [8001, 8001, 8001, 8001, 8002])
        #expect(clock.sleeps == [.milliseconds(50)])
    }

    @Test("returns client errors at once, without trying another replica")
    func returnsClientErrors() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(["a:8001": [.respond(.error(404, code: "no_such_user"))]], clock: clock)
        let client = makeClient(transport, clock: clock)

        let response = try await client.send(post)

        #expect(response.status == 404)
        #expect(transport.requests.count == 1)
    }
}
