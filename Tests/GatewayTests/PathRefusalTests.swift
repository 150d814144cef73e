import Testing
@testable import Gateway

/// Paths the router would read differently from a prefix check are refused before either.
@Suite struct PathRefusalTests {
    @Test(arguments: ["/", "/v1/accounts", "/v1/accounts/", "/internal/raft/messages", "/v1/accounts/a.b", "/v1/accounts/...",
                      "/v1/accounts/.x", "/v1/accounts/x.", "/v1/accounts/é"])
    func aCleanPathPasses(_ path: String) {
        #expect(HTTPServer.pathRefusal(path) == nil)
    }

    @Test(arguments: ["//internal/sessions/used", "/v1//accounts", "/v1/./accounts", "/v1/accounts/..", "/./internal/identity", "v1",
                      "", "/.", "/..", "/v1/../accounts", "/v1/accounts//"])
    func aPathWithAnEmptyDotOrDotDotSegmentIs400(_ path: String) {
        #expect(HTTPServer.pathRefusal(path)?.status == 400, "\(path) was let through")
    }

    @Test(arguments: [
        ("http://127.0.0.1:8001/healthz", "/healthz"), ("HTTPS://example.com/v1/inbox", "/v1/inbox"),
        ("http://example.com", "/"), ("/v1/accounts", "/v1/accounts"), ("http:/x", "http:/x"), ("*", "*"),
    ])
    func anAbsoluteFormTargetIsReadAsItsPath(_ target: String, _ path: String) {
        #expect(HTTPServer.originForm(of: target) == path)
    }
}
