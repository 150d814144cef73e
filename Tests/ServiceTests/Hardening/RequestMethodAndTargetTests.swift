import Foundation
import Testing

/// What RFC 9110 and 9112 require of every HTTP server, beyond the API's own operations:
/// HEAD wherever GET is served, request targets in absolute form, bodies whose end is beyond
/// doubt, and one Host in every HTTP/1.1 request.
@Suite struct RequestMethodAndTargetTests {
    /// Every GET of openapi.yaml, so a GET added later is covered without editing this test.
    @Test func headAnswersEveryGetOperationWithItsStatusAndHeadersAndNoBody() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("head"), at: base)
        let gets = try OpenAPIDocument.operations().filter { $0.method == "get" }
        #expect(gets.count >= 6, "openapi.yaml lists fewer GET operations than expected: \(gets)")
        for operation in gets {
            let get = try await TestClient.shared.request(.GET, "\(base)\(operation.path)", token: alice.token)
            let head = try await TestClient.shared.request(.HEAD, "\(base)\(operation.path)", token: alice.token)
            #expect(head.status == get.status, "HEAD \(operation.path) answered \(head.status), GET \(get.status)")
            #expect(
                head.headers.first(name: "Content-Type") == get.headers.first(name: "Content-Type"),
                "HEAD \(operation.path) has another Content-Type than GET")
            #expect(head.body.isEmpty, "HEAD \(operation.path) came with a body")
        }
    }

    /// Pipelined behind a HEAD, the next answer must start right after the HEAD's head: a body
    /// sent anyway would be read as the start of the next response.
    @Test func headSendsNoBodyBytesOnTheConnection() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        connection.send("HEAD /healthz HTTP/1.1\r\nHost: test\r\n\r\nGET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        let received = connection.read(until: "{\"status\":\"ok\"}")
        let responses = received.components(separatedBy: "\r\n\r\n")
        #expect(responses.count == 3, "expected two heads and one body, got: \(received)")
        #expect(responses.first?.hasPrefix("HTTP/1.1 200") == true, "HEAD /healthz: \(received)")
        #expect(responses.dropFirst().first?.hasPrefix("HTTP/1.1 200") == true, "HEAD left bytes before the next answer: \(received)")
    }

    @Test func headOnAPathWithoutGetIs405ListingHeadOnlyBesideGet() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let response = try await TestClient.shared.request(.HEAD, "\(base)/v1/messages")
        #expect(response.status == 405)
        #expect(response.headers.first(name: "Allow") == "POST")
        let onInbox = try await TestClient.shared.request(.PUT, "\(base)/v1/inbox")
        #expect(onInbox.headers.first(name: "Allow") == "GET, HEAD")
    }

    @Test func anAbsoluteFormTargetIsServedAsItsPath() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("abs"), at: base)
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        connection.send("GET \(base)/v1/inbox?after=0 HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(alice.token)\r\n\r\n")
        let received = connection.read(until: "next_after")
        #expect(received.hasPrefix("HTTP/1.1 200"), "GET \(base)/v1/inbox was not served: \(received)")
    }

    /// Found by hand: with `Content-Length: 0` and `Content-Length: 35`, the first was taken and
    /// the 35 bytes after the head were served as a request of their own.
    @Test func aBodyWithTwoDifferentLengthsIs400AndNothingAfterItIsServed() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        let smuggled = "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"
        connection.send(
            "POST /v1/accounts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                + "Content-Length: 0\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n" + smuggled)
        let received = connection.read(until: "{\"status\":\"ok\"}")
        #expect(received.hasPrefix("HTTP/1.1 400"), "\(received)")
        #expect(!received.contains("200 OK"), "the bytes after the head were served as a request: \(received)")
        #expect(!connection.didTimeOut, "the connection was neither closed nor answered")
    }

    /// A proxy in front that reads the length would see a request end where this server, which
    /// reads the chunks, sees it go on.
    @Test func aBodyWithBothLengthAndChunksIs400AndTheConnectionCloses() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        connection.send(
            "POST /v1/accounts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        let received = connection.read(until: "{\"status\":\"ok\"}")
        #expect(received.hasPrefix("HTTP/1.1 400"), "\(received)")
        #expect(!received.contains("200 OK"), "the connection was kept and read on: \(received)")
    }

    /// libmicrohttpd waited for such a body until its idle timeout (90 s).
    @Test func aTransferCodingOtherThanChunkedIs501AtOnce() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        connection.send(
            "POST /v1/accounts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: gzip, chunked\r\n\r\n{}")
        #expect(connection.readStatus() == 501)
    }

    @Test func anHTTP11RequestWithoutHostIs400WithAJSONError() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        connection.send("GET /healthz HTTP/1.1\r\n\r\n")
        let answer = connection.read(until: "}}")
        #expect(answer.hasPrefix("HTTP/1.1 400 "), "\(answer)")
        #expect(answer.contains(#""code":"invalid_request""#) && answer.contains("Host"), "\(answer)")
    }

    @Test func anHTTP10RequestWithoutHostIsServed() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        connection.send("GET /healthz HTTP/1.0\r\n\r\n")
        #expect(connection.readStatus() == 200)
    }

    @Test func twoHostsAre400() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let connection = try RawHTTPConnection(port: URL(string: base)!.port!)
        connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        #expect(connection.readStatus() == 400)
    }
}
