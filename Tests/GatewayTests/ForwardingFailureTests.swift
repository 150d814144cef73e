import Foundation
import Synchronization
import Testing
@testable import Gateway

/// Which failures of a forwarded write prove that nothing reached the leader: only those let
/// any write go on to the next leader (`ChatAPI+Forwarding`).
@Suite struct ForwardingFailureTests {
    let forwarder = WriteForwarder(replicaID: 1, writeTimeout: .seconds(1))
    let send = HTTPRequest(
        method: "POST", path: "/v1/messages", headers: ["content-type": "application/json"], body: Array(#"{"to":"a","body":"b"}"#.utf8))

    @Test func aLeaderWhosePortIsClosedWasNeverReached() async throws {
        let (listener, port) = try ListenCheckTests.listener()
        close(listener)
        defer { forwarder.shutdown() }
        let relay = await forwarder.forward(send, to: PeerAddress(id: 2, url: "http://127.0.0.1:\(port)"), until: .now + .seconds(2))
        guard case .unreachable = relay else {
            Issue.record("a refused connection was taken for a write that may have arrived: \(relay)")
            return
        }
    }

    /// A refused connection proves at once that nothing was written; retrying the connect
    /// until the connect timeout would only delay the write's next leader. The timeout is a
    /// minute here, so a loaded machine cannot be mistaken for a retry.
    @Test func aRefusedConnectionIsNotRetried() async throws {
        let (listener, port) = try ListenCheckTests.listener()
        close(listener)
        let patient = WriteForwarder(replicaID: 1, writeTimeout: .seconds(60), connectTimeout: .seconds(60))
        defer {
            patient.shutdown()
            forwarder.shutdown()
        }
        let start = ContinuousClock.now
        _ = await patient.forward(send, to: PeerAddress(id: 2, url: "http://127.0.0.1:\(port)"), until: .now + .seconds(60))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(20), "the refused connect was retried for \(elapsed)")
    }

    /// A leader paused after its answer's head, before the body: AsyncHTTPClient's deadline
    /// ends with the head, so the forwarder keeps its own.
    @Test(.timeLimit(.minutes(1))) func aLeaderPausedBetweenHeadAndBodyIsGivenUpAtTheDeadline() async throws {
        let (listener, port) = try ListenCheckTests.listener()
        defer { close(listener) }
        let connection = Mutex<Int32>(-1)
        let server = Thread {
            let accepted = accept(listener, nil, nil)
            connection.withLock { $0 = accepted }
            var request = [UInt8](repeating: 0, count: 4096)
            _ = read(accepted, &request, request.count)
            let head = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            _ = head.withCString { write(accepted, $0, strlen($0)) }
        }
        server.start()
        defer {
            connection.withLock { if $0 >= 0 { close($0) } }
            forwarder.shutdown()
        }
        let relay = await forwarder.forward(send, to: PeerAddress(id: 2, url: "http://127.0.0.1:\(port)"), until: .now + .milliseconds(500))
        guard case .unanswered(let response) = relay else {
            Issue.record("a body that never came was taken for an answer: \(relay)")
            return
        }
        #expect(response.status == 503)
    }

    /// The kernel takes the connection and the request for a listener that never accepts, as
    /// for a paused replica: the write may have arrived.
    @Test func aLeaderThatTookTheRequestAndNeverAnsweredMayHaveMadeTheWrite() async throws {
        let (listener, port) = try ListenCheckTests.listener()
        defer {
            close(listener)
            forwarder.shutdown()
        }
        let relay = await forwarder.forward(send, to: PeerAddress(id: 2, url: "http://127.0.0.1:\(port)"), until: .now + .milliseconds(300))
        guard case .unanswered(let response) = relay else {
            Issue.record("a request that left was taken for one never sent: \(relay)")
            return
        }
        #expect(response.status == 503)
    }
}
