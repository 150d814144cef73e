import Dispatch
import Foundation
import Synchronization

/// Ends long-polls whose wait ran out, from one thread that sleeps until the earliest deadline.
///
/// A wait costs an entry in a heap, where a dispatch timer per long-poll used to wake
/// libdispatch's manager thread when it was set and a worker thread when it fired, two thread
/// wake-ups for every delivered message at a replica serving long-polls (issue 13). Deadlines
/// are met up to `slack` late, so one wake-up ends every wait that runs out close together.
/// The entry of a long-poll answered earlier stays until its deadline; firing it then does nothing.
final class LongPollDeadlines: Sendable {
    /// One for the whole process: its thread serves every replica's long-polls.
    static let shared = LongPollDeadlines()
    static let slack = Duration.milliseconds(10)

    private struct Entry {
        var deadline: ContinuousClock.Instant
        var fire: @Sendable () -> Void
    }

    private struct State {
        /// A binary min-heap by deadline.
        var heap: [Entry] = []
        /// Until when the thread sleeps (or will, once it waits); nil while it sleeps for good.
        var sleepingUntil: ContinuousClock.Instant?
        var isStarted = false

        mutating func push(_ entry: Entry) {
            heap.append(entry)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].deadline < heap[parent].deadline else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }

        mutating func popFirst() -> Entry {
            heap.swapAt(0, heap.count - 1)
            let first = heap.removeLast()
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
                if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
                guard smallest != parent else { return first }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    private init() {}

    /// Calls `fire` on the deadlines' thread once `deadline` has passed (at most `slack` after it).
    func add(_ deadline: ContinuousClock.Instant, fire: @escaping @Sendable () -> Void) {
        let (mustStart, mustWake) = state.withLock { state -> (Bool, Bool) in
            state.push(Entry(deadline: deadline, fire: fire))
            let mustStart = !state.isStarted
            state.isStarted = true
            // Waits mostly run for the same time, so a new deadline is rarely the earliest.
            let mustWake = state.sleepingUntil.map { deadline + Self.slack < $0 } ?? true
            return (mustStart, mustWake && !mustStart)
        }
        if mustStart {
            let thread = Thread { [self] in run() }
            thread.name = "long-poll-deadlines"
            thread.start()
        } else if mustWake {
            wakeup.signal()
        }
    }

    private func run() {
        while true {
            let (due, sleepUntil) = state.withLock { state -> ([Entry], ContinuousClock.Instant?) in
                let horizon = ContinuousClock.now + Self.slack
                var due: [Entry] = []
                while let first = state.heap.first, first.deadline <= horizon { due.append(state.popFirst()) }
                state.sleepingUntil = state.heap.first?.deadline
                return (due, state.sleepingUntil)
            }
            for entry in due { entry.fire() }
            guard let sleepUntil else {
                wakeup.wait()
                continue
            }
            _ = wakeup.wait(timeout: .after(sleepUntil - ContinuousClock.now))
        }
    }
}
