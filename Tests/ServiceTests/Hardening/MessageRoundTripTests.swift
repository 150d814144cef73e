import Foundation
import PropertyBased
import Testing

/// Every message body the API accepts comes back exactly, byte for byte, from every replica:
/// JSON escaping, libmicrohttpd, the Raft log, SQLite and the way back must not change a
/// single Unicode scalar, control characters and NUL included.
extension ClusterTests {
    @Suite(.serialized) struct MessageRoundTrip {
        /// Scalars from every corner: C0 and C1 controls, NUL, DEL, line and paragraph
        /// separators, the byte-order mark, combining marks, and the whole range up to U+10FFFF.
        static let scalar = zip(Gen.int(in: 0...5), Gen<UInt8>.value(in: 0...255), Gen.int(in: 0...0x10_FFFF))
            .map { kind, small, any -> Unicode.Scalar in
                let value: UInt32
                switch kind {
                case 0: value = UInt32(small % 0x20)  // C0 controls and NUL
                case 1: value = [0x7F, 0x80, 0x85, 0x9F, 0x2028, 0x2029, 0xFEFF, 0x0301, 0xFFFD][Int(small) % 9]
                case 2: value = UInt32(small % 0x80)  // ASCII, quotes and backslashes among it
                default:
                    value = UInt32(any)
                }
                return Unicode.Scalar(value) ?? Unicode.Scalar(0xFFFD)!  // surrogates are not scalars
            }

        static let body = scalar.array(of: 1...40).map { scalars in
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            return text
        }

        @Test func everyAcceptedBodyComesBackExactlyFromEveryReplica() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register(uniqueName("scalars"), at: leader.baseURL)
            var sent: [String] = []
            await propertyCheck(count: 40, input: Self.body) { body in
                let response = try await TestClient.shared.request(
                    .POST, "\(leader.baseURL)/v1/messages", token: alice.token, json: ["to": alice.username, "body": body])
                #expect(response.status == 201, "a body of \(Array(body.unicodeScalars.map(\.value))) answered \(response.status)")
                if response.status == 201 { sent.append(body) }
            }
            for replica in cluster.replicas {
                try await replica.waitUntilApplied(atLeast: try await leader.appliedIndex)
                let inbox = try await alice.at(replica).inbox("limit=100")
                // JSONDecoder, not JSONSerialization: the latter drops a U+FEFF after an escape.
                let received = try JSONDecoder().decode(InboxBodies.self, from: inbox.body).messages.map(\.body)
                #expect(received.count == sent.count, "replica \(replica.id) returned \(received.count) of \(sent.count)")
                for (expected, actual) in zip(sent, received) where Array(expected.utf8) != Array(actual.utf8) {
                    Issue.record(
                        "replica \(replica.id) changed \(expected.unicodeScalars.map(\.value)) into \(actual.unicodeScalars.map(\.value))")
                }
            }
        }
    }
}

private struct InboxBodies: Decodable {
    struct Message: Decodable { var body: String }
    var messages: [Message]
}

extension ChatdProcess {
    /// Waits until this replica has applied at least `index`.
    func waitUntilApplied(atLeast index: Int, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await appliedIndex < index {
            guard ContinuousClock.now < deadline else { throw TestFailure("replica \(id) did not apply \(index)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
