import Foundation
import Synchronization
import Testing
@testable import Gateway

/// Which leader a forwarded write (`Prefer: forward`) goes to next when one fails it, and what
/// the follower answers when none takes it (`ChatAPI+Forwarding`).
@Suite struct ForwardingRetryTests {
    static func keyedSend() -> HTTPRequest {
        HTTPRequest(
            method: "POST", path: "/v1/messages",
            headers: [
                "content-type": "application/json", "authorization": "Bearer token-ann", "idempotency-key": "k1",
                "prefer": "forward",
            ],
            body: Array(#"{"to":"bob","body":"hi"}"#.utf8))
    }

    static func forwardedWork(_ api: InProcessAPI, _ request: HTTPRequest) throws -> @Sendable () async -> HTTPResponse {
        guard case .later(let work) = api.api.handle(request) else { throw NotForwarded() }
        return work
    }

    struct NotForwarded: Error {}

    /// A keyed send that a paused leader may hold, then a next leader that cannot be reached:
    /// the 503 must not say "nothing was written", which would invite an unkeyed second send.
    @Test func aWriteOneLeaderMayHaveTakenIsNeverReportedAsNotWritten() async throws {
        let (paused, pausedPort) = try ListenCheckTests.listener()  // takes connections, never answers
        let (closed, closedPort) = try ListenCheckTests.listener()
        close(closed)
        let forwarder = WriteForwarder(replicaID: 1, writeTimeout: .milliseconds(100))
        defer {
            close(paused)
            forwarder.shutdown()
        }
        let api = try InProcessAPI(users: ["ann", "bob"], forwarder: forwarder)
        api.replicator.route.withLock { $0 = .leader(PeerAddress(id: 2, url: "http://127.0.0.1:\(pausedPort)")) }
        let work = try Self.forwardedWork(api, Self.keyedSend())
        let answer = Task { await work() }

        var arrival = pollfd(fd: paused, events: Int16(POLLIN), revents: 0)
        #expect(poll(&arrival, 1, 10_000) == 1, "the send never reached the first leader")
        api.replicator.route.withLock { $0 = .leader(PeerAddress(id: 3, url: "http://127.0.0.1:\(closedPort)")) }

        let response = await answer.value
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == 503)
        #expect(text.contains("may still take effect"), "the answer hides that the first leader may have the write: \(text)")
        #expect(!text.contains("nothing was written"), "\(text)")
    }

    /// A leader that answered 307 made nothing of the write; when it leads again (this replica
    /// never heard of another), the write goes to it again instead of waiting out its time.
    @Test func aLeaderThatAnswered307IsAskedAgainWhenItLeadsOnceMore() async throws {
        let leader = try CannedLeader(answers: [
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/v1/messages\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        ])
        let forwarder = WriteForwarder(replicaID: 1, writeTimeout: .seconds(5))
        defer {
            leader.stop()
            forwarder.shutdown()
        }
        let api = try InProcessAPI(users: ["ann", "bob"], forwarder: forwarder)
        api.replicator.route.withLock { $0 = .leader(PeerAddress(id: 2, url: "http://127.0.0.1:\(leader.port)")) }
        let response = await (try Self.forwardedWork(api, Self.keyedSend()))()
        #expect(response.status == 201, "\(response.status) \(String(decoding: response.body, as: UTF8.self))")
        #expect(leader.requestsAnswered == 2)
    }
}

/// A listener on 127.0.0.1 that answers each connection with the next canned response and
/// closes it.
final class CannedLeader: Sendable {
    let port: UInt16
    private let listener: Int32
    private let answered = Mutex(0)

    var requestsAnswered: Int { answered.withLock { $0 } }

    init(answers: [String]) throws {
        (listener, port) = try ListenCheckTests.listener()
        Thread { [self] in
            for answer in answers {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                var request = [UInt8](repeating: 0, count: 4096)
                _ = read(connection, &request, request.count)
                _ = answer.withCString { write(connection, $0, strlen($0)) }
                close(connection)
                answered.withLock { $0 += 1 }
            }
        }.start()
    }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
}
