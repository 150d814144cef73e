import Testing
@testable import Gateway

/// Where a request's body ends must be beyond doubt (RFC 9112 §6.3), and an HTTP/1.1 request
/// names its host once (§3.2).
@Suite struct FramingRefusalTests {
    @Test(arguments: [
        [("Content-Length", "12")], [("content-length", "12"), ("Content-Length", " 12")],
        [("Transfer-Encoding", "chunked")], [("transfer-encoding", " Chunked ")], [("Host", "x")],
    ])
    func aBodyWhoseEndIsClearPasses(_ headers: [(String, String)]) {
        #expect(HTTPServer.framingRefusal(headers.map { (name: $0.0, value: $0.1) }) == nil)
    }

    @Test func contentLengthGivenTwiceWithDifferentValuesIs400() {
        let refusal = HTTPServer.framingRefusal([(name: "Content-Length", value: "0"), (name: "content-length", value: "35")])
        #expect(refusal?.status == 400)
    }

    /// A proxy in front that reads the length would end the body elsewhere than this server.
    @Test func contentLengthBesideTransferEncodingIs400() {
        let refusal = HTTPServer.framingRefusal([(name: "Transfer-Encoding", value: "chunked"), (name: "Content-Length", value: "5")])
        #expect(refusal?.status == 400)
    }

    @Test func anHTTP11RequestWithoutHostIs400() {
        #expect(HTTPServer.hostRefusal(isHTTP11: true, [(name: "Accept", value: "*/*")])?.status == 400)
    }

    @Test func anHTTP10RequestMayLeaveHostOut() {
        #expect(HTTPServer.hostRefusal(isHTTP11: false, []) == nil)
    }

    @Test(arguments: [true, false])
    func hostGivenTwiceIs400(isHTTP11: Bool) {
        let twice = [(name: "Host", value: "a"), (name: "host", value: "b")]
        #expect(HTTPServer.hostRefusal(isHTTP11: isHTTP11, twice)?.status == 400)
    }

    @Test(arguments: ["Host", "HOST", "host"])
    func oneHostPasses(_ name: String) {
        #expect(HTTPServer.hostRefusal(isHTTP11: true, [(name: name, value: "chat.example:8001")]) == nil)
    }

    @Test(arguments: ["gzip, chunked", "identity", "chunked, chunked", "gzip"])
    func aTransferCodingOtherThanChunkedIs501(_ coding: String) {
        #expect(HTTPServer.framingRefusal([(name: "Transfer-Encoding", value: coding)])?.status == 501, "\(coding) was taken")
    }
}
