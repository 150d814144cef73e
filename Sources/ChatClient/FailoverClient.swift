import Foundation

/// Sends API requests to a replicated cluster, following redirects to the
/// leader and failing over to other replicas.
///
/// - A `307` (or `308`) is followed: the same method, headers and body go to
///   the `Location`.
/// - A refused connection, a timeout, any other transport error, or a `503`
///   moves on to the next replica, after a pause that doubles with each
///   consecutive failure, until the policy's total time runs out.
/// - The replica that answered last (normally the leader) is tried first by
///   the next request.
///
/// The request itself is never changed between attempts, so a request with
/// an `Idempotency-Key` keeps its key across every retry.
public actor FailoverClient {
    /// The replicas named by the configuration, in order.
    public nonisolated let replicas: [URL]
    /// The replica that answered the last request, tried first by the next one.
    public private(set) var preferredReplica: URL?

    /// Whether writes carry `Prefer: forward`, so a follower carries them out through the
    /// leader instead of redirecting: for networks where the client reaches some replicas only.
    public nonisolated let prefersForwarding: Bool

    private let transport: any HTTPTransport
    private let policy: FailoverPolicy
    private let clock: any RetryClock

    public init(
        replicas: [URL],
        transport: any HTTPTransport,
        policy: FailoverPolicy = FailoverPolicy(),
        clock: any RetryClock = SystemRetryClock(),
        prefersForwarding: Bool = false
    ) {
        precondition(!replicas.isEmpty, "a cluster has at least one replica")
        self.replicas = replicas
        self.transport = transport
        self.policy = policy
        self.clock = clock
        self.prefersForwarding = prefersForwarding
    }

    /// Sends `request` until some replica gives an answer other than `503`,
    /// and returns that answer, whatever its status.
    ///
    /// - Throws: ``ChatClientError/clusterUnavailable(attemptCount:lastFailure:)``
    ///   when the time runs out first, or `CancellationError`.
    public func send(_ request: APIRequest) async throws -> TransportResponse {
        let deadline = clock.now().advanced(by: policy.totalTimeout + request.serverWait)
        let candidates = orderedCandidates()
        var candidateIndex = 0
        var target = Target.replica(candidates[candidateIndex])
        var redirectCount = 0
        var failureCount = 0
        var attemptCount = 0
        var lastFailure = "no attempt was made"
        var lastRefusal: String?
        var lastUntrusted: String?
        var (untrusted, unreachable) = (Set<URL>(), Set<URL>())
        attempts: while attemptCount < policy.attemptCountMaximum {
            let remaining = clock.now().duration(to: deadline)
            guard remaining > .zero else {
                break
            }
            attemptCount += 1
            let timeout = min(policy.attemptTimeout + request.serverWait, remaining)
            let outcome = try await attempt(request, at: target, timeout: timeout)
            if case .unreachable = outcome {} else { unreachable.remove(target.origin) }
            switch outcome {
            case .answered(let response):
                preferredReplica = target.origin
                return response
            case .redirected(let location) where redirectCount < policy.redirectCountMaximum:
                redirectCount += 1
                target = .redirect(location)
                continue
            case .redirected(let location):
                lastFailure = "\(target.origin.absoluteString) redirected too often, last to \(location.absoluteString)"
            case .refused(let reason):
                // A replica's own answer says more than another's silence: it stays the one reported.
                lastRefusal = "\(target.origin.absoluteString): \(reason)"
                lastFailure = lastRefusal!
            case .failed(let reason):
                lastFailure = lastRefusal ?? "\(target.origin.absoluteString): \(reason)"
            case .unreachable(let reason):
                lastFailure = lastRefusal ?? "\(target.origin.absoluteString): \(reason)"
                unreachable.insert(target.origin)
                if let lastUntrusted, untrusted.union(unreachable).isSuperset(of: candidates) {
                    lastFailure = lastUntrusted
                    break attempts
                }
            case .untrusted(let reason):
                lastUntrusted = "\(target.origin.absoluteString): \(reason)"
                lastFailure = lastUntrusted!
                // One replica with a bad certificate is worked around; when every one either has
                // one or cannot be reached, the client's trust is wrong (`--cacert`), and waiting
                // out the timeout cannot help.
                untrusted.insert(target.origin)
                if untrusted.union(unreachable).isSuperset(of: candidates) { break attempts }
            }
            failureCount += 1
            redirectCount = 0
            candidateIndex = (candidateIndex + 1) % candidates.count
            target = .replica(candidates[candidateIndex])
            let delay = policy.backoff(afterFailureCount: failureCount)
            guard clock.now().duration(to: deadline) > delay else {
                break
            }
            try await clock.sleep(for: delay)
        }
        throw ChatClientError.clusterUnavailable(attemptCount: attemptCount, lastFailure: lastFailure)
    }

    /// `request`'s answer from `replica` alone, asked once: nil when it does not answer, or
    /// answers with a redirect or `503`. For questions about one replica's own view.
    public func answer(from replica: URL, to request: APIRequest) async throws -> TransportResponse? {
        guard case .answered(let response) = try await attempt(request, at: .replica(replica), timeout: policy.attemptTimeout)
        else { return nil }
        return response
    }

    /// The last replica that answered, then the configured ones in order.
    private func orderedCandidates() -> [URL] {
        guard let preferredReplica else {
            return replicas
        }
        return [preferredReplica] + replicas.filter { $0 != preferredReplica }
    }

    /// Where the next attempt goes: a configured replica, or a redirect's `Location`.
    private enum Target {
        case replica(URL)
        case redirect(URL)

        func url(for request: APIRequest) -> URL {
            switch self {
            case .replica(let base):
                request.url(at: base)
            case .redirect(let location):
                location
            }
        }

        var origin: URL {
            switch self {
            case .replica(let base):
                base
            case .redirect(let location):
                FailoverClient.origin(of: location)
            }
        }
    }

    private enum Outcome {
        case answered(TransportResponse)
        case redirected(URL)
        /// A 503: the replica answered, but cannot serve the request now.
        case refused(String)
        case failed(String)
        case unreachable(String)
        case untrusted(String)
    }

    /// Sends `request` once to `target`.
    private func attempt(_ request: APIRequest, at target: Target, timeout: Duration) async throws -> Outcome {
        let url = target.url(for: request)
        var headers = request.headers
        if prefersForwarding && request.method != .get { headers["Prefer"] = "forward" }
        let transportRequest = TransportRequest(method: request.method, url: url, headers: headers, body: request.body)
        let response: TransportResponse
        do {
            response = try await transport.execute(transportRequest, timeout: timeout)
        } catch is CancellationError {
            throw CancellationError()
        } catch TransportError.untrustedCertificate(let reason) {
            return .untrusted(String(describing: TransportError.untrustedCertificate(reason)))
        } catch TransportError.connectionFailed(let reason) {
            return .unreachable(String(describing: TransportError.connectionFailed(reason)))
        } catch {
            return .failed(String(describing: error))
        }
        switch response.status {
        case 307, 308:
            guard let location = response.header(named: "Location"),
                let resolved = URL(string: location, relativeTo: url)?.absoluteURL
            else {
                return .failed("redirect \(response.status) without a usable Location")
            }
            return .redirected(resolved)
        case 503:
            let reason = ErrorEnvelope.serverError(in: response)?.message ?? "no message"
            return .refused("503 Service Unavailable: \(reason)")
        default:
            return .answered(response)
        }
    }

    /// The scheme, host and port of `url`, without path or query.
    static func origin(of url: URL) -> URL {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: true) else {
            return url
        }
        components.path = ""
        components.query = nil
        components.fragment = nil
        return components.url ?? url
    }
}
