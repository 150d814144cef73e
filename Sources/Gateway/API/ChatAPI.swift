import Logging
import ReplicaCore

/// The v1 REST API: routes requests to handlers that validate input, build commands and
/// submit them through the replicator, or read the replica's applied state.
///
/// A class, though immutable: every request's closures capture it, and capturing a struct
/// of this many references retained and released each of them, per closure, per send (issue 13).
public final class ChatAPI: HTTPRequestHandler {
    public struct Dependencies: Sendable {
        public var database: ChatDatabase
        public var replicator: any Replicator
        public var waiters: InboxWaiters
        public var metrics: ServiceMetrics
        public var passwordHasher: PasswordHasher
        /// Where password hashes are computed: off the cooperative threads, with a bounded queue.
        public var hashingPool = PasswordHashingPool()
        public var clock: @Sendable () -> Int64
        public var logger: Logger
        /// Answers requests under `/internal/` (peer traffic); nil on a lone replica.
        public var internalHandler: (any HTTPRequestHandler)?
        /// Logs one line per answered `/v1/` and operations request when set (`--access-log`).
        public var accessLogger: Logger?
        /// What operator calls (`/v1/cluster/members`) must present; nil refuses them all.
        public var clusterSecret: String?
        /// Carries out writes with `Prefer: forward` through the leader; nil refuses to forward
        /// (such writes get the 307 as without the preference).
        var forwarder: WriteForwarder?
        /// How long sessions live unused (`--session-ttl`).
        public var sessionPolicy = SessionPolicy()
        /// Where uses of sessions are noted so the cluster keeps them alive; nil in tests that
        /// never let a session grow old.
        var sessionUses: SessionUseRecorder?

        public init(
            database: ChatDatabase, replicator: any Replicator, waiters: InboxWaiters, metrics: ServiceMetrics,
            passwordHasher: PasswordHasher, clock: @escaping @Sendable () -> Int64 = Timestamp.nowMillis,
            logger: Logger, internalHandler: (any HTTPRequestHandler)? = nil
        ) {
            self.database = database
            self.replicator = replicator
            self.waiters = waiters
            self.metrics = metrics
            self.passwordHasher = passwordHasher
            self.clock = clock
            self.logger = logger
            self.internalHandler = internalHandler
        }
    }

    static let maxWaitSeconds: Int64 = 60

    let dependencies: Dependencies
    let router: Router<ChatAPI>
    /// A hash no password matches, verified when the username is unknown.
    let unknownUserHash: String

    public init(_ dependencies: Dependencies) {
        self.dependencies = dependencies
        unknownUserHash = dependencies.passwordHasher.hash(SessionToken.generate())
        var router = Router<ChatAPI>()
        router.add("GET", "/healthz", ChatAPI.health)
        router.add("GET", "/readyz", ChatAPI.readiness)
        router.add("GET", "/metrics", ChatAPI.metricsText)
        router.add("GET", "/v1/cluster", ChatAPI.cluster)
        router.add("POST", "/v1/cluster/members", ChatAPI.addMember)
        router.add("POST", "/v1/cluster/members/{id}/promote", ChatAPI.promoteMember)
        router.add("DELETE", "/v1/cluster/members/{id}", ChatAPI.removeMember)
        router.add("POST", "/v1/accounts", isWrite: true, ChatAPI.createAccount)
        router.add("GET", "/v1/accounts", requiresToken: true, ChatAPI.listAccounts)
        router.add("DELETE", "/v1/accounts/{username}", requiresToken: true, isWrite: true, ChatAPI.deleteAccount)
        router.add("POST", "/v1/sessions", isWrite: true, ChatAPI.logIn)
        router.add("DELETE", "/v1/sessions/current", requiresToken: true, isWrite: true, ChatAPI.logOut)
        router.add("POST", Self.messagesPath, requiresToken: true, isWrite: true, ChatAPI.sendMessage)
        router.add("GET", "/v1/inbox", requiresToken: true, ChatAPI.readInbox)
        router.add("POST", "/v1/inbox/ack", requiresToken: true, isWrite: true, ChatAPI.acknowledge)
        router.add("POST", SessionUseRecorder.usedPath, ChatAPI.recordSessionUse)
        self.router = router
    }

    /// Authentication comes before validation: a call that needs a token and has none is
    /// refused before its body is read. Peer calls prove the cluster secret the same way.
    public func screen(_ head: HTTPRequest) -> HTTPResponse? {
        if head.path == SessionUseRecorder.usedPath {
            return clusterSecretRefusal(head)?.response
        }
        if head.path.hasPrefix("/internal/") {
            guard let internalHandler = dependencies.internalHandler else { return APIError.notFound.response }
            return internalHandler.screen(head)
        }
        guard case .found(let route, _) = router.match(method: head.method, path: head.path) else { return nil }
        if route.name.hasPrefix("/v1/cluster/members"), let refusal = clusterSecretRefusal(head) {
            return finished(head, with: refusal.response, route: route.name, since: .now)
        }
        guard route.requiresToken, Self.bearerToken(head) == nil else { return nil }
        return finished(head, with: APIError.unauthorized.response, route: route.name, since: .now)
    }

    public func handle(_ request: HTTPRequest) -> HTTPReply {
        if request.path.hasPrefix("/internal/"), request.path != SessionUseRecorder.usedPath,
           let internalHandler = dependencies.internalHandler {
            return internalHandler.handle(request)
        }
        let started = ContinuousClock.now
        let finish = { @Sendable [self] (response: HTTPResponse, route: String) -> HTTPResponse in
            finished(request, with: response, route: route, since: started)
        }
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            return .now(finish(APIError.notFound.response, "unknown"))
        case .methodNotAllowed(let allowed):
            return .now(finish(APIError.methodNotAllowed(allowed: allowed).response, "unknown"))
        case .found(let route, let parameters):
            if request.hasMalformedQuery {
                let error = APIError.invalidRequest("A query parameter is not valid UTF-8.")
                return .now(finish(error.response, route.name))
            }
            let prefersForward = route.isWrite && WriteForwarder.prefersForward(request)
            let finish = !prefersForward ? finish : { @Sendable (response: HTTPResponse, route: String) -> HTTPResponse in
                finish(Self.withPreferenceApplied(response), route)
            }
            let reply = prefersForward ? forwardingReply(request, route: route) : nil
            switch reply ?? route.handler(self)(RouteContext(request: request, parameters: parameters, receivedAt: started)) {
            case .now(let response):
                return .now(finish(response, route.name))
            case .later(let work):
                return .later { finish(await work(), route.name) }
            case .deferred(let start):
                return .deferred { responder in
                    start(responder.mapping { finish($0, route.name) })
                }
            }
        }
    }

    /// Counts an answered request in the metrics and, with `--access-log`, logs it.
    func finished(
        _ request: HTTPRequest, with response: HTTPResponse, route: String, since started: ContinuousClock.Instant
    ) -> HTTPResponse {
        if let accessLogger = dependencies.accessLogger {
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            accessLogger.info(
                "\(request.method) \(request.pathAndQuery) \(response.status) \(String(format: "%.1f", milliseconds)) ms")
        }
        return dependencies.metrics.recorded(response, route: route, since: started)
    }
}

/// A matched request and its path parameters.
struct RouteContext: Sendable {
    var request: HTTPRequest
    var parameters: [String: String]
    /// When the API took the request, on the epoll thread.
    var receivedAt: ContinuousClock.Instant = .now
}

extension HTTPReply {
    static func error(_ error: APIError) -> HTTPReply { .now(error.response) }
}

extension ChatAPI {
    /// Runs `work` off the epoll thread, turning a thrown `APIError` into its response.
    func later(_ work: @escaping @Sendable () async throws(APIError) -> HTTPResponse) -> HTTPReply {
        .later {
            do throws(APIError) {
                return try await work()
            } catch {
                return error.response
            }
        }
    }

    /// Whether `Prefer: forward` carries `request` out through the leader: the same test as
    /// `handle` makes, the route's. Operator calls are not forwarded: the cluster secret is not
    /// sent on between replicas.
    func isForwardable(_ request: HTTPRequest) -> Bool {
        guard case .found(let route, _) = router.match(method: request.method, path: request.path) else { return false }
        return route.isWrite
    }

    /// Answers a write at a follower with 307 to the leader, and with 503 when none is known.
    func routeWrite(_ request: HTTPRequest) -> APIError? {
        switch dependencies.replicator.writeRoute() {
        case .here: nil
        case .leader(let leader): notLeader(leader, request)
        case .noLeader: APIError.noLeader
        }
    }

    func notLeader(_ leader: PeerAddress, _ request: HTTPRequest) -> APIError {
        APIError.notLeader(leader, location: leader.url + request.pathAndQuery, forwardable: isForwardable(request))
    }

    /// `subject` is the username the command is about, named in a `no_such_user` answer.
    func submit(
        _ command: ChatCommand, request: HTTPRequest, subject: String? = nil, timeline: WriteTimeline? = nil
    ) async throws(APIError) -> ChatOutcome {
        let result = await dependencies.replicator.result(of: command, timeline: timeline)
        return try outcome(of: result, request: request, subject: subject, timeline: timeline)
    }

    /// What a submitted command's result means to its caller; records its timeline as answered now.
    func outcome(
        of result: Result<ChatResult, ReplicationError>, request: HTTPRequest, subject: String?, timeline: WriteTimeline?
    ) throws(APIError) -> ChatOutcome {
        if let timeline { dependencies.metrics.record(timeline, answered: .now) }
        switch result {
        case .failure(let error): throw apiError(for: error, request: request)
        case .success(.success(let outcome)): return outcome
        case .success(.failure(let rejection)): throw apiError(for: rejection, subject: subject)
        }
    }

    func apiError(for error: ReplicationError, request: HTTPRequest) -> APIError {
        switch error {
        case .notLeader(let leader): notLeader(leader, request)
        case .noLeader: APIError.noLeader
        case .timedOut: APIError.unconfirmedWrite("The write was not confirmed in time", request: request)
        case .shuttingDown: APIError.shuttingDown
        case .stoppedBeforeConfirming: APIError.unconfirmedWrite("The replica shut down before this write was confirmed", request: request)
        case .storageFull: APIError.storageFull
        }
    }

    func apiError(for rejection: ChatRejection, subject: String?) -> APIError {
        switch rejection {
        case .usernameTaken: APIError.usernameTaken
        case .invalidCredentials: APIError.invalidCredentials
        case .unauthorized: APIError.unauthorized
        case .forbidden: APIError.forbidden
        case .noSuchUser: APIError.noSuchUser(subject ?? "by that name")
        case .idempotencyKeyReused: APIError.idempotencyKeyReused
        }
    }
}
