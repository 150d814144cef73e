import Testing
@testable import Gateway

@Suite struct RouterTests {
    struct Target: Sendable {}

    func router() -> Router<Target> {
        var router = Router<Target>()
        let reply: @Sendable (Target) -> (RouteContext) -> HTTPReply = { _ in { _ in .now(HTTPResponse(status: 200)) } }
        router.add("GET", "/v1/accounts", reply)
        router.add("POST", "/v1/accounts", reply)
        router.add("DELETE", "/v1/accounts/{username}", reply)
        return router
    }

    @Test func aPathParameterIsCaptured() {
        guard case .found(let route, let parameters) = router().match(method: "DELETE", path: "/v1/accounts/alice") else {
            Issue.record("DELETE /v1/accounts/alice did not match")
            return
        }
        #expect(route.name == "/v1/accounts/{username}")
        #expect(parameters == ["username": "alice"])
    }

    @Test func aKnownPathWithAnotherMethodListsTheAllowedOnes() {
        guard case .methodNotAllowed(let allowed) = router().match(method: "PUT", path: "/v1/accounts") else {
            Issue.record("PUT /v1/accounts should be 405")
            return
        }
        #expect(allowed == ["GET", "POST"])
    }

    @Test func anUnknownPathIsNotFound() {
        guard case .notFound = router().match(method: "GET", path: "/v1/accounts/alice/extra") else {
            Issue.record("a longer path must not match")
            return
        }
    }

    @Test func emptySegmentsAreIgnoredAsBefore() {
        guard case .found(let route, let parameters) = router().match(method: "DELETE", path: "//v1/accounts//bob/") else {
            Issue.record("a path with doubled and trailing slashes did not match")
            return
        }
        #expect(route.name == "/v1/accounts/{username}")
        #expect(parameters == ["username": "bob"])
    }

    @Test func aLiteralSegmentMatchesOnlyItsExactBytes() {
        guard case .notFound = router().match(method: "GET", path: "/v1/Accounts") else {
            Issue.record("a literal segment matched another case")
            return
        }
        guard case .notFound = router().match(method: "GET", path: "/v1/accountsé") else {
            Issue.record("a literal segment matched a longer one")
            return
        }
    }

    @Test func aParameterKeepsNonASCIIText() {
        guard case .found(_, let parameters) = router().match(method: "DELETE", path: "/v1/accounts/zoë") else {
            Issue.record("a non-ASCII segment did not match the parameter")
            return
        }
        #expect(parameters == ["username": "zoë"])
    }
}
