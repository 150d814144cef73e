import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import Testing
@testable import Gateway
import ReplicaCore

/// A link that got replies sends nothing more until the driver has handled them, so what the
/// replies cause (a leader's new commit index) goes out in the next request with whatever
/// queued up meanwhile.
@Suite struct PeerLinkResumeTests {
    /// A peer that notes how many messages each request carried and answers each with one reply.
    final class CountingPeer: HTTPRequestHandler, Sendable {
        let batches = Mutex<[Int]>([])
        func handle(_ request: HTTPRequest) -> HTTPReply {
            let count = (try? RaftWireCodec.decode(request.body).count) ?? -1
            batches.withLock { $0.append(count) }
            let reply = RaftMessage(from: 2, to: 1, term: 1, kind: .heartbeatResponse(HeartbeatResponse(readSequence: 0)))
            return .now(HTTPResponse(
                status: 200, headers: [("Content-Type", RaftWireCodec.contentType)], body: RaftWireCodec.encode([reply])))
        }
    }

    static func heartbeat(_ commit: UInt64) -> RaftMessage {
        RaftMessage(from: 1, to: 2, term: 1, kind: .heartbeat(Heartbeat(commit: LogIndex(commit))))
    }

    @Test func messagesQueuedBeforeTheDriverResumesTheLinkGoOutTogetherAfterIt() async throws {
        let peer = CountingPeer()
        let server = HTTPServer(
            configuration: .init(bindAddress: "127.0.0.1", port: 0), handler: peer, logger: Logger(label: "peer"))
        let port = try server.start()
        defer { server.stop() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("link-\(UUID().uuidString)")
        let resumes = Mutex<[@Sendable () -> Void]>([])
        let link = PeerLink(
            baseURL: "http://127.0.0.1:\(port)", secret: "secret", clusterID: "c", client: client,
            eventLoop: client.eventLoopGroup.next(),
            stateFiles: try OutgoingStateFiles(database: try ChatDatabase(directory: directory)), logger: Logger(label: "link"),
            deliver: { _, resume in resumes.withLock { $0.append(resume) } }, onFailure: {})

        link.enqueue([Self.heartbeat(1)])
        try await waitUntil { resumes.withLock { $0.count == 1 } }
        // Not yet resumed: unheld, the first of these would have gone out alone at once.
        link.enqueue([Self.heartbeat(2)])
        link.enqueue([Self.heartbeat(3)])
        resumes.withLock { $0[0] }()
        try await waitUntil { resumes.withLock { $0.count == 2 } }
        try await client.shutdown()
        #expect(peer.batches.withLock { $0 } == [1, 2], "messages per request")
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            try #require(ContinuousClock.now < deadline, "the link did not get its answer in 10 s")
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
