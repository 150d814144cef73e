/// The time source for retries and backoff, injected so that tests need not sleep.
public protocol RetryClock: Sendable {
    func now() -> ContinuousClock.Instant
    func sleep(for duration: Duration) async throws
}

/// The real clock: `ContinuousClock` and `Task.sleep`.
public struct SystemRetryClock: RetryClock {
    public init() {}

    public func now() -> ContinuousClock.Instant {
        ContinuousClock.now
    }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
