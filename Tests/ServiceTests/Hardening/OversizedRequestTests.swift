import Foundation
import Testing

/// A request whose line or headers outgrow the connection's 4 KiB memory pool is answered
/// (414 or 431) or closed at once, whatever its size, and the replica keeps serving.
@Suite struct OversizedRequestTests {
    static let sizes = [100, 2_000, 3_500, 3_900, 4_096, 4_200, 6_000, 16_000, 65_000, 300_000]

    /// Sends `head` and reads the answer: its status, or nil if the connection was closed.
    private func answer(to head: String, base: String) throws -> (status: Int?, timedOut: Bool) {
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!, timeoutSeconds: 10)
        connection.send(head)
        let status = connection.readStatus()
        return (status, connection.didTimeOut)
    }

    @Test(arguments: sizes)
    func anOversizedRequestLineIsAnsweredOrClosedAtOnce(_ size: Int) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let path = "/v1/accounts?pattern=" + String(repeating: "a", count: size)
        let (status, timedOut) = try answer(to: "GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n", base: base)
        #expect(!timedOut, "a request line of \(size) bytes got no answer and no close")
        #expect(status.map { [401, 414, 431, 400].contains($0) } ?? true, "a request line of \(size) bytes answered \(status!)")
        #expect(try await TestClient.shared.get("\(base)/healthz").status == 200)
    }

    @Test(arguments: sizes)
    func oversizedHeadersAreAnsweredOrClosedAtOnce(_ size: Int) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let head = "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Filler: \(String(repeating: "x", count: size))\r\n\r\n"
        let (status, timedOut) = try answer(to: head, base: base)
        #expect(!timedOut, "headers of \(size) bytes got no answer and no close")
        #expect(status.map { [200, 431, 400].contains($0) } ?? true, "headers of \(size) bytes answered \(status!)")
        #expect(try await TestClient.shared.get("\(base)/healthz").status == 200)
    }

    /// libmicrohttpd 0.9.75 left a query of many short arguments (60 of them: 785 bytes) with
    /// neither an answer nor a close once their records filled the pool; the URI guard in the
    /// shim closes such a connection before the arguments are parsed.
    @Test(arguments: [(10, 0), (60, 0), (200, 0), (30, 1_000), (20, 2_000)])
    func aQueryOfManyArgumentsIsAnsweredOrClosedAtOnce(_ arguments: Int, _ headerPadding: Int) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let query = Array(repeating: "limit=1", count: arguments).joined(separator: "&")
        let head = "GET /v1/accounts?\(query) HTTP/1.1\r\nHost: test\r\nX-Filler: \(String(repeating: "x", count: headerPadding))\r\n\r\n"
        let (status, timedOut) = try answer(to: head, base: base)
        #expect(!timedOut, "\(arguments) query arguments got no answer and no close")
        #expect(status.map { [401, 400, 414, 431].contains($0) } ?? true, "\(arguments) query arguments answered \(status!)")
        #expect(try await TestClient.shared.get("\(base)/healthz").status == 200)
    }

    /// Clients such as schemathesis report a closed connection as an error: the guard answers.
    @Test(arguments: [25, 60, 200])
    func aQueryOfMoreArgumentsThanTheGuardTakesIsAnswered414NotClosed(_ arguments: Int) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let query = Array(repeating: "limit=1", count: arguments).joined(separator: "&")
        let (status, timedOut) = try answer(to: "GET /v1/inbox?\(query) HTTP/1.1\r\nHost: test\r\n\r\n", base: base)
        #expect(!timedOut)
        #expect(status == 414, "\(arguments) query arguments: \(status.map { "answered \($0)" } ?? "closed without an answer")")
        #expect(try await TestClient.shared.get("\(base)/healthz").status == 200)
    }
}
