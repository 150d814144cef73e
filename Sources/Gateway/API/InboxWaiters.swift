import Dispatch
import ReplicaCore
import Synchronization

/// Long-polls waiting for their inbox to change, woken when the replica applies a message to
/// that inbox (or deletes the account), or when their own deadline passes.
///
/// A waiter is registered before the inbox is read, so a message applied between the read and
/// the wait still wakes it. A waiting long-poll is only an entry here holding what answers it
/// (no task, no continuation), which keeps ten thousand of them cheap. A wake only hands the
/// answer on (the epoll thread reads and encodes it), so a few woken long-polls are woken on the
/// thread that applied the message; many at once are spread over tasks in small groups, so the
/// applier is not held up.
public final class InboxWaiters: AppliedListener {
    public struct Ticket: Sendable, Hashable {
        let id: Int
        let accountKey: String
    }

    /// Called with when the change that woke the long-poll was applied, or nil when its time
    /// ran out (or the whole state was replaced). It must only hand the answer on.
    public typealias Wake = @Sendable (_ appliedAt: ContinuousClock.Instant?) -> Void

    private enum Waiter {
        case armed
        case fired
        case waiting(Wake)
    }

    private struct State {
        var nextID = 0
        var byAccount: [String: [Int: Waiter]] = [:]
        var count = 0

        /// Removes the ticket's entry; returns whether it was there.
        mutating func remove(_ ticket: Ticket) -> Waiter? {
            guard let waiter = byAccount[ticket.accountKey]?.removeValue(forKey: ticket.id) else { return nil }
            count -= 1
            if byAccount[ticket.accountKey]?.isEmpty == true { byAccount[ticket.accountKey] = nil }
            return waiter
        }
    }

    /// Woken long-polls handed on one after another by one task, or inline when no more wake at once.
    static let wakesPerTask = 64

    private let state = Mutex(State())
    private let timerQueue = DispatchQueue(label: "inbox-waiters.timeouts")

    public init() {}

    public var waitingCount: Int { state.withLock { $0.count } }

    public func register(accountKey: String) -> Ticket {
        state.withLock { state in
            state.nextID += 1
            state.byAccount[accountKey, default: [:]][state.nextID] = .armed
            state.count += 1
            return Ticket(id: state.nextID, accountKey: accountKey)
        }
    }

    /// Calls `wake` once, when the inbox changes or `seconds` pass; the ticket is then spent.
    public func wait(_ ticket: Ticket, seconds: Double, then wake: @escaping Wake) {
        let hasFired = state.withLock { state -> Bool in
            guard case .armed = state.byAccount[ticket.accountKey]?[ticket.id] else {
                _ = state.remove(ticket)
                return true
            }
            state.byAccount[ticket.accountKey]?[ticket.id] = .waiting(wake)
            return false
        }
        if hasFired {
            wake(nil)
            return
        }
        timerQueue.asyncAfter(deadline: .now() + seconds) { [self] in fire(ticket) }
    }

    /// Forgets a ticket that will not be waited on.
    public func cancel(_ ticket: Ticket) {
        state.withLock { _ = $0.remove(ticket) }
    }

    public func didApply(_ outcomes: [ChatOutcome]) {
        var keys = Set<String>()
        for outcome in outcomes {
            switch outcome {
            case .messageSent(let message, let isReplay) where !isReplay: keys.insert(Username.key(message.recipient))
            case .accountDeleted(let username): keys.insert(Username.key(username))
            default: break
            }
        }
        guard !keys.isEmpty else { return }
        let appliedAt = ContinuousClock.now
        for key in keys { wakeAll(accountKey: key, appliedAt: appliedAt) }
    }

    public func didReplaceState() { wakeEveryone() }

    public func wakeEveryone() {
        let keys = state.withLock { Array($0.byAccount.keys) }
        for key in keys { wakeAll(accountKey: key) }
    }

    private func wakeAll(accountKey: String, appliedAt: ContinuousClock.Instant? = nil) {
        let woken = state.withLock { state -> [Wake] in
            guard let waiters = state.byAccount[accountKey] else { return [] }
            var woken: [Wake] = []
            var armed: [Int: Waiter] = [:]
            for (id, waiter) in waiters {
                switch waiter {
                case .waiting(let wake): woken.append(wake)
                // Registered but not yet waiting: its wait will return at once.
                case .armed, .fired: armed[id] = .fired
                }
            }
            state.count -= waiters.count - armed.count
            state.byAccount[accountKey] = armed.isEmpty ? nil : armed
            return woken
        }
        Self.run(woken, appliedAt: appliedAt)
    }

    private func fire(_ ticket: Ticket) {
        let wake = state.withLock { state -> Wake? in
            guard let waiter = state.byAccount[ticket.accountKey]?[ticket.id] else { return nil }
            guard case .waiting(let wake) = waiter else {
                state.byAccount[ticket.accountKey]?[ticket.id] = .fired
                return nil
            }
            _ = state.remove(ticket)
            return wake
        }
        wake?(nil)
    }

    private static func run(_ wakes: [Wake], appliedAt: ContinuousClock.Instant?) {
        guard wakes.count > wakesPerTask else {
            for wake in wakes { wake(appliedAt) }
            return
        }
        var start = 0
        while start < wakes.count {
            let group = wakes[start..<min(start + wakesPerTask, wakes.count)]
            Task { for wake in group { wake(appliedAt) } }
            start += wakesPerTask
        }
    }
}
