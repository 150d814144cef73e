import Foundation
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
