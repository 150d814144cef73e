import Dispatch

extension DispatchTime {
    /// The moment `duration` from now, for the semaphore waits that time the driver's turns
    /// and the long-polls' deadlines (negative durations are now).
    static func after(_ duration: Duration) -> DispatchTime {
        .now() + .nanoseconds(Int(max(Duration.zero, duration).inNanoseconds))
    }
}

extension Duration {
    /// The duration in whole nanoseconds, for Dispatch deadlines and metrics timers.
    var inNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
