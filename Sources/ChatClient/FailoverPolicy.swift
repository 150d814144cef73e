/// The limits of ``FailoverClient``: how long to keep trying, how long one
/// attempt may take, and how to back off between attempts.
public struct FailoverPolicy: Sendable, Hashable {
    /// How long one request may keep trying replicas, on top of any time the
    /// server was asked to wait (see ``APIRequest/serverWait``).
    public var totalTimeout: Duration
    /// How long one attempt at one replica may take, on top of any server wait.
    public var attemptTimeout: Duration
    /// The pause after the first failed attempt; each later pause doubles.
    public var backoffInitial: Duration
    /// The longest pause between two attempts.
    public var backoffMaximum: Duration
    /// How many redirects one attempt may follow before the replica counts as failed.
    public var redirectCountMaximum: Int
    /// A bound on attempts, so the loop ends even with a clock that stands still.
    public var attemptCountMaximum: Int

    public init(
        totalTimeout: Duration = .seconds(10),
        attemptTimeout: Duration = .seconds(3),
        backoffInitial: Duration = .milliseconds(50),
        backoffMaximum: Duration = .seconds(1),
        redirectCountMaximum: Int = 5,
        attemptCountMaximum: Int = 1_000
    ) {
        precondition(totalTimeout > .zero, "the total timeout must be positive")
        precondition(attemptTimeout > .zero, "the attempt timeout must be positive")
        precondition(backoffInitial >= .zero, "the initial backoff must not be negative")
        precondition(backoffMaximum >= backoffInitial, "the maximum backoff must be at least the initial one")
        precondition(redirectCountMaximum >= 0, "the redirect bound must not be negative")
        precondition(attemptCountMaximum >= 1, "at least one attempt must be allowed")
        self.totalTimeout = totalTimeout
        self.attemptTimeout = attemptTimeout
        self.backoffInitial = backoffInitial
        self.backoffMaximum = backoffMaximum
        self.redirectCountMaximum = redirectCountMaximum
        self.attemptCountMaximum = attemptCountMaximum
    }

    /// The pause after `failureCount` consecutive failed attempts (counted from 1):
    /// the initial backoff, doubled for each earlier failure, capped at the maximum.
    public func backoff(afterFailureCount failureCount: Int) -> Duration {
        precondition(failureCount >= 1, "a backoff follows at least one failure")
        var delay = backoffInitial
        for _ in 1..<min(failureCount, 64) {
            delay *= 2
            if delay >= backoffMaximum {
                return backoffMaximum
            }
        }
        return min(delay, backoffMaximum)
    }
}
