/// Matches a method and path against routes such as `/v1/accounts/{username}`.
struct Router<Target>: Sendable {
    struct Route: Sendable {
        var name: String
        var segments: [Substring]
        var method: String
        /// Whether the route needs a bearer token: a request without one is refused with 401
        /// before anything else about it is looked at.
        var requiresToken: Bool
        /// Whether the route changes state, so only the leader carries it out.
        var isWrite: Bool
        var handler: @Sendable (Target) -> (RouteContext) -> HTTPReply
    }

    enum Match {
        case found(Route, parameters: [String: String])
        case methodNotAllowed([String])
        case notFound
    }

    private var routes: [Route] = []

    mutating func add(
        _ method: String, _ pattern: String, requiresToken: Bool = false, isWrite: Bool = false,
        _ handler: @escaping @Sendable (Target) -> (RouteContext) -> HTTPReply
    ) {
        routes.append(Route(
            name: pattern, segments: Self.segments(pattern), method: method, requiresToken: requiresToken,
            isWrite: isWrite, handler: handler))
    }

    func match(method: String, path: String) -> Match {
        let pathSegments = Self.segments(path)
        var allowed: [String] = []
        for route in routes {
            guard let parameters = Self.parameters(route.segments, pathSegments) else { continue }
            if route.method == method { return .found(route, parameters: parameters) }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed)
    }

    static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    static func parameters(_ pattern: [Substring], _ path: [Substring]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) {
            if expected.hasPrefix("{") && expected.hasSuffix("}") {
                parameters[String(expected.dropFirst().dropLast())] = String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}
