import ChatClient
import Foundation
import Testing

@Suite("AsyncHTTPTransport")
struct AsyncHTTPTransportTests {
    @Test("reports a refused connection as a transport error, quickly and without retrying")
    func refusedConnection() async throws {
        let transport = try AsyncHTTPTransport()
        let request = TransportRequest(method: .get, url: URL(string: "http://127.0.0.1:1/healthz")!)
        let start = ContinuousClock.now

        await #expect(throws: TransportError.self) {
            _ = try await transport.execute(request, timeout: .seconds(60))
        }

        // Well below the timeout, with room for a loaded machine: the refusal was not waited out.
        #expect(ContinuousClock.now - start < .seconds(20))
        try await transport.shutdown()
    }

    /// Found by probing: it read "could not connect (connection reset (error set): Connection
    /// refused) (errno: 111))".
    @Test func aRefusedConnectionIsSaidPlainly() async throws {
        let transport = try AsyncHTTPTransport()
        defer { Task { try? await transport.shutdown() } }
        let request = TransportRequest(method: .get, url: URL(string: "http://127.0.0.1:1/healthz")!)
        let error = await #expect(throws: TransportError.self) { _ = try await transport.execute(request, timeout: .seconds(60)) }
        #expect(error?.description == "could not connect (connection refused)")
    }
}
