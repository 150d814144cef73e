import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
@testable import Gateway

/// The connection a peer link sends Raft messages on.
@Suite struct PeerConnectionTests {
    /// Answers with the request's body, or never when asked to stall.
    struct Echo: HTTPRequestHandler {
        func handle(_ request: HTTPRequest) -> HTTPReply {
            if request.path.hasSuffix("/stall") { return .deferred { _ in } }
            return .now(HTTPResponse(status: 200, body: request.body))
        }
    }

    static func withServer(_ body: (UInt16, any EventLoop) async throws -> Void) async throws {
        let server = HTTPServer(configuration: .init(bindAddress: "127.0.0.1", port: 0), handler: Echo(), logger: Logger(label: "peer"))
        let port = try server.start()
        defer { server.stop() }
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await body(port, loops.next())
        } catch {
            try? await loops.shutdownGracefully()
            throw error
        }
        try await loops.shutdownGracefully()
    }

    @Test func postsAreAnsweredOneAfterAnotherOnOneConnection() async throws {
        try await Self.withServer { port, loop in
            let connection = try PeerConnection(
                url: "http://127.0.0.1:\(port)/internal/echo", headers: [], tls: nil, eventLoop: loop, maxAnswerBytes: 1 << 20)
            for text in ["one", "two", "three"] {
                let answer = try await connection.post(ByteBuffer(string: text), timeout: .seconds(5)).get()
                #expect(answer.status == 200 && String(buffer: answer.body) == text)
            }
        }
    }

    @Test func aPeerThatNeverAnswersFailsThePostAtItsTimeout() async throws {
        try await Self.withServer { port, loop in
            let stalled = try PeerConnection(
                url: "http://127.0.0.1:\(port)/internal/stall", headers: [], tls: nil, eventLoop: loop, maxAnswerBytes: 1 << 20)
            let started = ContinuousClock.now
            await #expect(throws: PeerConnectionError.self) {
                _ = try await stalled.post(ByteBuffer(string: "x"), timeout: .milliseconds(200)).get()
            }
            // Far above the 200 ms timeout, so a loaded machine never fails it; without the
            // timeout the post would wait for ever.
            #expect(ContinuousClock.now - started < .seconds(20), "the post outlived its timeout")
        }
    }

    @Test func anUnreachablePeerFailsThePost() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // A port nothing listens on: bind one, then close it.
        let probe = try await ServerBootstrap(group: loops).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress!.port!
        try await probe.close()
        let connection = try PeerConnection(
            url: "http://127.0.0.1:\(port)/internal/raft/messages", headers: [], tls: nil, eventLoop: loops.next(), maxAnswerBytes: 1024)
        await #expect(throws: (any Error).self) {
            _ = try await connection.post(ByteBuffer(string: "x"), timeout: .seconds(5)).get()
        }
        try await loops.shutdownGracefully()
    }
}
