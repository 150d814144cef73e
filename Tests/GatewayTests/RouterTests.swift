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
        #expect(allowed == ["GET", "HEAD", "POST"])
    }

    @Test func headTakesTheGetRouteOfItsPath() {
        guard case .found(let route, _) = router().match(method: "HEAD", path: "/v1/accounts") else {
            Issue.record("HEAD /v1/accounts did not match the GET route")
            return
        }
        #expect(route.method == "GET")
    }

    @Test func headOnAPathWithoutGetIs405() {
        guard case .methodNotAllowed(let allowed) = router().match(method: "HEAD", path: "/v1/accounts/alice") else {
            Issue.record("HEAD /v1/accounts/alice has no GET route: it should be 405")
            return
        }
        #expect(allowed == ["DELETE"])
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

/// A path written exactly as a route without parameters is found by one lookup; the answer
/// must be the one the scan in order of addition gives.
@Suite struct RouterExactPathTests {
    let reply: @Sendable (RouterTests.Target) -> (RouteContext) -> HTTPReply = { _ in { _ in .now(HTTPResponse(status: 200)) } }

    @Test func aRouteWithParametersAddedEarlierStillWinsOverALiteralOne() {
        var router = Router<RouterTests.Target>()
        router.add("GET", "/v1/accounts/{username}", reply)
        router.add("GET", "/v1/accounts/me", reply)
        guard case .found(let route, let parameters) = router.match(method: "GET", path: "/v1/accounts/me") else {
            Issue.record("GET /v1/accounts/me did not match")
            return
        }
        #expect(route.name == "/v1/accounts/{username}", "the later literal route took the earlier one's place")
        #expect(parameters == ["username": "me"])
    }

    @Test func theFirstOfTwoEqualLiteralRoutesWins() {
        var router = Router<RouterTests.Target>()
        router.add("POST", "/v1/messages", requiresToken: true, reply)
        router.add("POST", "/v1/messages", requiresToken: false, reply)
        guard case .found(let route, _) = router.match(method: "POST", path: "/v1/messages") else {
            Issue.record("POST /v1/messages did not match")
            return
        }
        #expect(route.requiresToken, "the second of two equal routes was found")
    }

    @Test func anExactPathWithAnotherMethodIsStill405() {
        var router = Router<RouterTests.Target>()
        router.add("POST", "/v1/messages", reply)
        guard case .methodNotAllowed(let allowed) = router.match(method: "GET", path: "/v1/messages") else {
            Issue.record("GET /v1/messages should be 405")
            return
        }
        #expect(allowed == ["POST"])
    }
}
