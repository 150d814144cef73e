import Dispatch
import Foundation
import Synchronization

/// Ends long-polls whose wait ran out, from one thread that sleeps until the earliest deadline.
///
/// A wait costs an entry in a heap, where a dispatch timer per long-poll used to wake
/// libdispatch's manager thread when it was set and a worker thread when it fired, two thread
/// wake-ups for every delivered message at a replica serving long-polls (issue 13). Deadlines
/// are met up to `slack` late, so one wake-up ends every wait that runs out close together.
/// A long-poll answered earlier cancels its entry: cancelled entries are skipped when due, and
/// dropped all at once when they would be half the heap, so the heap stays within twice the
/// waiting long-polls (at 1,000 re-polls a second with `wait=60` it would otherwise hold 60,000).
final class LongPollDeadlines: Sendable {
    /// One for the whole process: its thread serves every replica's long-polls.
    static let shared = LongPollDeadlines()
    static let slack = Duration.milliseconds(10)
    /// Cancelled entries are dropped only past this many, so small heaps are never rebuilt.
    static let cancelledBeforeCompacting = 64

    /// Names one added deadline, to cancel it.
    struct Token: Sendable, Hashable {
        fileprivate let id: UInt64
    }

    private struct Entry {
        var id: UInt64
        var deadline: ContinuousClock.Instant
        var fire: @Sendable () -> Void
    }

    private struct State {
        /// A binary min-heap by deadline.
        var heap: [Entry] = []
        var nextID: UInt64 = 0
        /// Entries in the heap that must not fire (and, briefly, ids of entries already fired).
        var cancelled = Set<UInt64>()
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
            siftDown(from: 0)
            return first
        }

        mutating func siftDown(from start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
                if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
                guard smallest != parent else { return }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }

        /// Drops the cancelled entries once they are many and at least half the heap.
        mutating func compactIfWorthIt() {
            guard cancelled.count > LongPollDeadlines.cancelledBeforeCompacting && cancelled.count * 2 > heap.count else {
                return
            }
            heap.removeAll { cancelled.contains($0.id) }
            for parent in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(from: parent) }
            cancelled = []
        }
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    /// Tests make their own; the service uses `shared`.
    init() {}

    /// Entries in the heap, cancelled ones not yet dropped included.
    var heldCount: Int { state.withLock { $0.heap.count } }

    /// Calls `fire` on the deadlines' thread once `deadline` has passed (at most `slack` after
    /// it), unless the returned token is cancelled first.
    @discardableResult
    func add(_ deadline: ContinuousClock.Instant, fire: @escaping @Sendable () -> Void) -> Token {
        let (token, mustStart, mustWake) = state.withLock { state -> (Token, Bool, Bool) in
            state.nextID += 1
            state.push(Entry(id: state.nextID, deadline: deadline, fire: fire))
            let mustStart = !state.isStarted
            state.isStarted = true
            // Waits mostly run for the same time, so a new deadline is rarely the earliest.
            let mustWake = state.sleepingUntil.map { deadline + Self.slack < $0 } ?? true
            return (Token(id: state.nextID), mustStart, mustWake && !mustStart)
        }
        if mustStart {
            let thread = Thread { [self] in run() }
            thread.name = "long-poll-deadlines"
            thread.start()
        } else if mustWake {
            wakeup.signal()
        }
        return token
    }

    /// Makes sure the deadlines' `fire` is not called (it may be running already).
    func cancel(_ tokens: [Token]) {
        guard !tokens.isEmpty else { return }
        state.withLock { state in
            for token in tokens { state.cancelled.insert(token.id) }
            state.compactIfWorthIt()
        }
    }

    private func run() {
        while true {
            let (due, sleepUntil) = state.withLock { state -> ([Entry], ContinuousClock.Instant?) in
                let horizon = ContinuousClock.now + Self.slack
                var due: [Entry] = []
                while let first = state.heap.first, first.deadline <= horizon {
                    let entry = state.popFirst()
                    if state.cancelled.remove(entry.id) == nil { due.append(entry) }
                }
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
