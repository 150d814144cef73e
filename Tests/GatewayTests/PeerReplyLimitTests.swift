import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import Testing
@testable import Gateway
import ReplicaCore

/// A peer's answer is collected only up to a limit, like the requests a replica accepts.
@Suite struct PeerReplyLimitTests {
    /// A peer that answers every batch with the same replies.
    struct FixedReplies: HTTPRequestHandler {
        let body: [UInt8]
        func handle(_ request: HTTPRequest) -> HTTPReply {
            .now(HTTPResponse(status: 200, headers: [("Content-Type", RaftWireCodec.contentType)], body: body))
        }
    }

    @Test(arguments: [false, true])
    func aReplyOverTheLimitIsRefusedAndNothingOfItDelivered(overLimit: Bool) async throws {
        let replies = (0..<300).map { _ in
            RaftMessage(from: 2, to: 1, term: 1, kind: .heartbeatResponse(HeartbeatResponse(readSequence: 7)))
        }
        let body = RaftWireCodec.encode(replies)
        let server = HTTPServer(
            configuration: .init(bindAddress: "127.0.0.1", port: 0), handler: FixedReplies(body: body), logger: Logger(label: "peer"))
        let port = try server.start()
        defer { server.stop() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("link-\(UUID().uuidString)")
        let outcome = Mutex<(delivered: Int, failures: Int)>((0, 0))
        let link = PeerLink(
            baseURL: "http://127.0.0.1:\(port)", secret: "secret", clusterID: "c", client: client,
            eventLoop: client.eventLoopGroup.next(), stateFiles: try OutgoingStateFiles(database: try ChatDatabase(directory: directory)), logger: Logger(label: "link"),
            deliver: { messages, resume in
                outcome.withLock { $0.delivered += messages.count }
                resume()
            },
            onFailure: { outcome.withLock { $0.failures += 1 } },
            maxReplyBytes: overLimit ? body.count - 1 : body.count)
        link.enqueue([RaftMessage(from: 1, to: 2, term: 1, kind: .heartbeat(Heartbeat(commit: 0)))])
        let deadline = ContinuousClock.now + .seconds(10)
        while outcome.withLock({ $0.delivered == 0 && $0.failures == 0 }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await client.shutdown()
        let (delivered, failures) = outcome.withLock { ($0.delivered, $0.failures) }
        if overLimit {
            #expect(delivered == 0 && failures >= 1, "a reply of \(body.count) bytes over the limit: delivered \(delivered)")
        } else {
            #expect(delivered == replies.count && failures == 0, "a reply at the limit is delivered whole")
        }
    }
}
