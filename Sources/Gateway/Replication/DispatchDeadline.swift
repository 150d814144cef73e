import Dispatch

extension DispatchTime {
    /// The moment `duration` from now, for the semaphore waits that time the driver's turns
    /// and the long-polls' deadlines (negative durations are now).
    static func after(_ duration: Duration) -> DispatchTime {
        let (seconds, attoseconds) = max(Duration.zero, duration).components
        return .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
    }
}
