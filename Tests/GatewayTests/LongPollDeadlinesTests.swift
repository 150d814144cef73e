import Synchronization
import Testing
@testable import Gateway

/// Long-polls end when their wait runs out: not before, not much after, and a short wait
/// registered after a long one is not held up behind it.
@Suite struct LongPollDeadlinesTests {
    final class Fired: Sendable {
        private let times = Mutex<[String: ContinuousClock.Instant]>([:])
        func note(_ name: String) { times.withLock { $0[name] = .now } }
        func time(_ name: String) -> ContinuousClock.Instant? { times.withLock { $0[name] } }
    }

    @Test func aShortWaitAddedAfterALongOneEndsOnTimeAndTheLongOneLater() async throws {
        let fired = Fired()
        LongPollDeadlines.shared.add(.now + .seconds(30)) { fired.note("long") }
        try await Task.sleep(for: .milliseconds(20))  // the thread is asleep until the long deadline
        // Timed from here: a test process under load may resume from that sleep late.
        let added = ContinuousClock.now
        LongPollDeadlines.shared.add(added + .milliseconds(100)) { fired.note("short") }
        let deadline = added + .seconds(10)
        while fired.time("short") == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let short = try #require(fired.time("short"), "the short wait never ended")
        #expect(short - added >= .milliseconds(100) - LongPollDeadlines.slack, "ended early: \(short - added)")
        #expect(short - added < .seconds(1), "held up behind the long wait: \(short - added)")
        #expect(fired.time("long") == nil, "the long wait ended early")
    }
}
