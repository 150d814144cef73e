/// Matches a method and path against routes such as `/v1/accounts/{username}`.
struct Router<Target>: Sendable {
    struct Route: Sendable {
        var name: String
        var segments: [Segment]
        var method: String
        /// Whether the route needs a bearer token: a request without one is refused with 401
        /// before anything else about it is looked at.
        var requiresToken: Bool
        /// Whether the route changes state, so only the leader carries it out.
        var isWrite: Bool
        var handler: @Sendable (Target) -> (RouteContext) -> HTTPReply
    }

    /// One piece of a route's pattern, parsed once when the route is added.
    enum Segment: Sendable, Equatable {
        case literal(String)
        /// `{name}`: any one non-empty path segment, captured under `name`.
        case parameter(String)
    }

    enum Match {
        case found(Route, parameters: [String: String])
        case methodNotAllowed([String])
        case notFound
    }

    private var routes: [Route] = []
    /// Routes without parameters, by method and pattern, found by one hash when a request's
    /// path is written exactly as the pattern (every request is matched twice: by
    /// `ChatAPI.screen` and `handle`). Only a route no earlier one would take its place from
    /// is here, so a hit answers what the scan would; a miss falls back to the scan.
    private var exactRoutes: [ExactKey: Route] = [:]

    private struct ExactKey: Hashable {
        var method: String
        var path: String
    }

    mutating func add(
        _ method: String, _ pattern: String, requiresToken: Bool = false, isWrite: Bool = false,
        _ handler: @escaping @Sendable (Target) -> (RouteContext) -> HTTPReply
    ) {
        let route = Route(
            name: pattern, segments: Self.segments(pattern).map(Self.segment), method: method,
            requiresToken: requiresToken, isWrite: isWrite, handler: handler)
        let hasParameters = route.segments.contains { if case .parameter = $0 { true } else { false } }
        if !hasParameters, case .notFound = scan(method: method, path: pattern) {
            exactRoutes[ExactKey(method: method, path: pattern)] = route
        }
        routes.append(route)
    }

    /// HEAD takes the GET route of its path (RFC 9110 §9.3.2: same status and headers, and
    /// libmicrohttpd leaves the body out), so `curl -I` and monitors that check with HEAD work.
    func match(method: String, path: String) -> Match {
        let method = method == "HEAD" ? "GET" : method
        if let route = exactRoutes[ExactKey(method: method, path: path)] { return .found(route, parameters: [:]) }
        return scan(method: method, path: path)
    }

    /// Every route in the order they were added: the first of the method wins.
    private func scan(method: String, path: String) -> Match {
        let pathSegments = Self.segments(path)
        var allowed: [String] = []
        for route in routes {
            guard let parameters = Self.parameters(route.segments, pathSegments) else { continue }
            if route.method == method { return .found(route, parameters: parameters) }
            allowed.append(route.method)
            if route.method == "GET" { allowed.append("HEAD") }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed)
    }

    /// The non-empty segments between slashes, split on UTF-8 bytes: every request's path is
    /// split (twice, by `ChatAPI.screen` and `handle`), and splitting by `Character` cost
    /// a few percent of the leader's CPU (issue 13).
    static func segments(_ path: String) -> [Substring] {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { Substring($0) }
    }

    static func segment(_ piece: Substring) -> Segment {
        piece.hasPrefix("{") && piece.hasSuffix("}") ? .parameter(String(piece.dropFirst().dropLast())) : .literal(String(piece))
    }

    static func parameters(_ pattern: [Segment], _ path: [Substring]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) {
            switch expected {
            case .parameter(let name):
                parameters[name] = String(actual)
            case .literal(let literal):
                guard actual.utf8.elementsEqual(literal.utf8) else { return nil }
            }
        }
        return parameters
    }
}
