import ChatClient
import Synchronization

/// A clock that stands still until a sleep or a test moves it, and records
/// every sleep.
final class ManualRetryClock: RetryClock {
    private struct State {
        var elapsed: Duration = .zero
        var sleeps: [Duration] = []
    }

    private let origin = ContinuousClock.now
    private let state = Mutex(State())

    var sleeps: [Duration] {
        state.withLock { $0.sleeps }
    }

    var elapsed: Duration {
        state.withLock { $0.elapsed }
    }

    func advance(by duration: Duration) {
        state.withLock { $0.elapsed += duration }
    }

    func now() -> ContinuousClock.Instant {
        origin.advanced(by: elapsed)
    }

    func sleep(for duration: Duration) async throws {
        state.withLock { state in
            state.sleeps.append(duration)
            state.elapsed += duration
        }
    }
}
