import Foundation
import Testing
@testable import Gateway

/// A leader's 5xx relayed by a follower (`Prefer: forward`) says whose state it describes.
struct ForwardedErrorTests {
    let leader = PeerAddress(id: 2, url: "http://127.0.0.1:8002")

    @Test func theLeadersErrorMessageNamesTheLeader() throws {
        let body = Array(#"{"error":{"code":"storage_full","message":"This replica's disk is full."}}"#.utf8)
        let relayed = try JSONSerialization.jsonObject(with: Data(WriteForwarder.attributed(body, to: leader))) as? [String: Any]
        let error = relayed?["error"] as? [String: Any]
        #expect(error?["code"] as? String == "storage_full", "the code is relayed unchanged")
        #expect(error?["message"] as? String == "The leader (replica 2) answered: This replica's disk is full.")
    }

    @Test func aBodyThatIsNotAnErrorEnvelopeIsRelayedAsItCame() {
        for body in ["<html>502</html>", #"{"status":"down"}"#, ""] {
            #expect(WriteForwarder.attributed(Array(body.utf8), to: leader) == Array(body.utf8), "\(body)")
        }
    }
}
