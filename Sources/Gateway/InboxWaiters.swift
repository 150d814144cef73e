import Dispatch
import ReplicaCore
import Synchronization

/// Long-polls waiting for their inbox to change, woken when the replica applies a message to
/// that inbox (or deletes the account), or when their own deadline passes.
///
/// A waiter is registered before the inbox is read, so a message applied between the read and
/// the wait still wakes it.
public final class InboxWaiters: AppliedListener {
    public struct Ticket: Sendable, Hashable {
        let id: Int
        let accountKey: String
    }

    private enum Waiter {
        case armed
        case fired
        case waiting(CheckedContinuation<Void, Never>)
    }

    private struct State {
        var nextID = 0
        var byAccount: [String: [Int: Waiter]] = [:]
        var count = 0
    }

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

    /// Suspends until the inbox changes or `seconds` pass; then the ticket is spent.
    public func wait(_ ticket: Ticket, seconds: Double) async {
        timerQueue.asyncAfter(deadline: .now() + seconds) { [self] in fire(ticket) }
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state -> Bool in
                guard case .armed = state.byAccount[ticket.accountKey]?[ticket.id] else { return true }
                state.byAccount[ticket.accountKey]?[ticket.id] = .waiting(continuation)
                return false
            }
            if fired { continuation.resume() }
        }
        cancel(ticket)
    }

    /// Forgets a ticket that will not be waited on.
    public func cancel(_ ticket: Ticket) {
        state.withLock { state in
            guard state.byAccount[ticket.accountKey]?.removeValue(forKey: ticket.id) != nil else { return }
            state.count -= 1
            if state.byAccount[ticket.accountKey]?.isEmpty == true { state.byAccount[ticket.accountKey] = nil }
        }
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
        for key in keys { wakeAll(accountKey: key) }
    }

    public func didReplaceState() { wakeEveryone() }

    public func wakeEveryone() {
        let keys = state.withLock { Array($0.byAccount.keys) }
        for key in keys { wakeAll(accountKey: key) }
    }

    private func wakeAll(accountKey: String) {
        let continuations = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard var waiters = state.byAccount[accountKey] else { return [] }
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in waiters {
                if case .waiting(let continuation) = waiter { woken.append(continuation) }
                waiters[id] = .fired
            }
            state.byAccount[accountKey] = waiters
            return woken
        }
        for continuation in continuations { continuation.resume() }
    }

    private func fire(_ ticket: Ticket) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.byAccount[ticket.accountKey]?[ticket.id] else { return nil }
            state.byAccount[ticket.accountKey]?[ticket.id] = .fired
            if case .waiting(let continuation) = waiter { return continuation }
            return nil
        }
        continuation?.resume()
    }
}
