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

    @Test func aCancelledDeadlineDoesNotFire() async throws {
        let deadlines = LongPollDeadlines()
        let fired = Fired()
        let added = ContinuousClock.now
        let cancelled = deadlines.add(added + .milliseconds(50)) { fired.note("cancelled") }
        deadlines.add(added + .milliseconds(100)) { fired.note("kept") }
        deadlines.cancel([cancelled])
        let deadline = added + .seconds(10)
        while fired.time("kept") == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(fired.time("kept") != nil, "the deadline that was not cancelled never fired")
        #expect(fired.time("cancelled") == nil, "a cancelled deadline fired")
    }

    @Test func cancelledDeadlinesAreDroppedBeforeTheyCanPileUp() {
        let deadlines = LongPollDeadlines()
        let tokens = (0..<1_000).map { _ in deadlines.add(.now + .seconds(60)) {} }
        for token in tokens { deadlines.cancel([token]) }
        #expect(deadlines.heldCount <= LongPollDeadlines.cancelledBeforeCompacting,
                "\(deadlines.heldCount) cancelled entries still held")
    }

    @Test func deadlinesKeptWhenCancelledOnesAreDroppedFireInOrder() async throws {
        let deadlines = LongPollDeadlines()
        let order = Mutex<[Int]>([])
        let start = ContinuousClock.now + .milliseconds(50)
        let offsets = Array(0..<100).shuffled()
        let tokens = offsets.map { offset in
            (offset, deadlines.add(start + .milliseconds(offset * 3)) { order.withLock { $0.append(offset) } })
        }
        let cancelled = tokens.filter { $0.0 % 5 != 0 }
        deadlines.cancel(cancelled.map(\.1))
        #expect(deadlines.heldCount == 20, "the 80 cancelled deadlines were not dropped")
        let deadline = ContinuousClock.now + .seconds(10)
        while order.withLock({ $0.count }) < 20 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let fired = order.withLock { $0 }
        #expect(fired == Array(stride(from: 0, to: 100, by: 5)), "fired out of order or not at all: \(fired)")
    }
}
