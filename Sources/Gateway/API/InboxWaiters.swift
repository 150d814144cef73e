import ReplicaCore
import Synchronization

/// Long-polls waiting for their inbox to change, woken when the replica applies a message to
/// that inbox (or deletes the account, or closes the long-poll's own session), or when their
/// own deadline passes.
///
/// A waiter is registered before the inbox is read, so a message applied between the read and
/// the wait still wakes it. A waiting long-poll is only an entry here holding what answers it
/// (no task, no continuation), which keeps ten thousand of them cheap. A wake only hands the
/// answer on (the epoll thread reads and encodes it), so a few woken long-polls are woken on the
/// thread that applied the message; many at once are spread over tasks in small groups, so the
/// applier is not held up.
///
/// It also notes the last message applied to each inbox, and hands a woken long-poll the
/// messages that woke it, so a long-poll that keeps up reads no SQLite at all.
public final class InboxWaiters: AppliedListener {
    public struct Ticket: Sendable, Hashable {
        let id: Int
        let accountKey: String
        /// The session the long-poll reads with: closing it ends the wait.
        let tokenHash: String
    }

    /// Called with the change that woke the long-poll, or nil when its time ran out (or its
    /// session was closed). It must only hand the answer on.
    public typealias Wake = @Sendable (_ arrival: Arrival?) -> Void

    /// What woke a long-poll: when it was applied, and the account's new messages.
    public struct Arrival: Sendable {
        public var appliedAt: ContinuousClock.Instant
        /// The messages the waking batch added to the inbox, in order, when it changed nothing
        /// else of this account a read could see (no acknowledgement, closed session or
        /// deletion of it; no session expiry anywhere): they are then every message after the
        /// waiter's position, as of that batch. Nil otherwise.
        public var messages: [StoredMessage]?
        /// The messages the waking batch added to the inbox, in order, whatever else it did.
        public var added: [StoredMessage] = []
        /// Whether the whole state was replaced (a snapshot was installed): anything may have
        /// changed, so the long-poll must look at its inbox again.
        public var replacedState = false
    }

    private enum Waiter {
        case armed
        /// Woken before it waited, and what it must do once it waits.
        case fired(FiredBy)
        case waiting(Wake, deadline: LongPollDeadlines.Token)
    }

    /// What woke a long-poll before it waited, most telling last: the strongest is kept.
    private enum FiredBy: Comparable {
        /// Its deadline, a closed session, or messages added: reading the inbox answers it.
        case answerable
        /// A batch that did more than add messages (an acknowledgement): it may find nothing new.
        case batchToLookAt
        /// A snapshot install.
        case replacedState

        /// What the long-poll is handed when it then waits.
        var arrival: Arrival? {
            switch self {
            case .answerable: nil
            case .batchToLookAt: Arrival(appliedAt: .now, messages: nil)
            case .replacedState: Arrival(appliedAt: .now, messages: nil, replacedState: true)
            }
        }
    }

    private struct Entry {
        var waiter: Waiter
        let tokenHash: String
    }

    private struct State {
        var nextID = 0
        var byAccount: [String: [Int: Entry]] = [:]
        var count = 0
        /// The highest message sequence number applied to each inbox since this replica started
        /// (or since its state was last replaced); an inbox not here is unknown, not empty.
        var lastSeqByAccount: [String: Int64] = [:]

        /// Takes the account's waiting long-polls (only those of `session`, when it is given);
        /// those registered but not yet waiting are marked fired, so their wait returns at once.
        /// Their deadlines go in `ended`, to be cancelled.
        mutating func takeWaiting(
            accountKey: String, session: String? = nil, firedBy: FiredBy = .answerable, ended: inout [LongPollDeadlines.Token]
        ) -> [Wake] {
            guard let waiters = byAccount[accountKey] else { return [] }
            var woken: [Wake] = []
            var kept: [Int: Entry] = [:]
            for (id, entry) in waiters {
                guard session == nil || entry.tokenHash == session else {
                    kept[id] = entry
                    continue
                }
                switch entry.waiter {
                case .waiting(let wake, let deadline):
                    woken.append(wake)
                    ended.append(deadline)
                case .armed:
                    kept[id] = Entry(waiter: .fired(firedBy), tokenHash: entry.tokenHash)
                case .fired(let earlier):
                    kept[id] = Entry(waiter: .fired(max(earlier, firedBy)), tokenHash: entry.tokenHash)
                }
            }
            count -= waiters.count - kept.count
            byAccount[accountKey] = kept.isEmpty ? nil : kept
            return woken
        }

        /// Removes the ticket's entry; returns whether it was there.
        mutating func remove(_ ticket: Ticket) -> Waiter? {
            guard let entry = byAccount[ticket.accountKey]?.removeValue(forKey: ticket.id) else { return nil }
            count -= 1
            if byAccount[ticket.accountKey]?.isEmpty == true { byAccount[ticket.accountKey] = nil }
            return entry.waiter
        }
    }

    /// Woken long-polls handed on one after another by one task, or inline when no more wake at once.
    static let wakesPerTask = 64

    private let state = Mutex(State())
    private let deadlines: LongPollDeadlines

    public convenience init() {
        self.init(deadlines: .shared)
    }

    init(deadlines: LongPollDeadlines) {
        self.deadlines = deadlines
    }

    public var waitingCount: Int { state.withLock { $0.count } }

    public func register(accountKey: String, tokenHash: String) -> Ticket {
        state.withLock { state in
            state.nextID += 1
            state.byAccount[accountKey, default: [:]][state.nextID] = Entry(waiter: .armed, tokenHash: tokenHash)
            state.count += 1
            return Ticket(id: state.nextID, accountKey: accountKey, tokenHash: tokenHash)
        }
    }

    /// Calls `wake` once, when the inbox changes or `end` comes; the ticket is then spent.
    public func wait(_ ticket: Ticket, until end: ContinuousClock.Instant, then wake: @escaping Wake) {
        // The deadline comes first, so whoever wakes the waiter can cancel it; firing before
        // the waiter waits marks it fired, as a message would.
        let deadline = deadlines.add(end) { [self] in fire(ticket) }
        // Nil: it waits. Otherwise it was woken before it waited, and by what.
        let firedBefore = state.withLock { state -> Arrival?? in
            guard case .armed = state.byAccount[ticket.accountKey]?[ticket.id]?.waiter else {
                guard case .fired(let firedBy) = state.remove(ticket) else { return .some(nil) }
                return .some(firedBy.arrival)
            }
            state.byAccount[ticket.accountKey]?[ticket.id]?.waiter = .waiting(wake, deadline: deadline)
            return nil
        }
        if let arrival = firedBefore {
            deadlines.cancel([deadline])
            wake(arrival)
        }
    }

    /// Whether the inbox is known to hold nothing after `seq`. Asked after registering `ticket`:
    /// whatever is applied but not yet noted here wakes the ticket, so a wait is then safe
    /// without reading the inbox.
    public func holdsNothing(after seq: Int64, for ticket: Ticket) -> Bool {
        state.withLock { state in state.lastSeqByAccount[ticket.accountKey].map { $0 <= seq } ?? false }
    }

    /// Forgets a ticket that will not be waited on.
    public func cancel(_ ticket: Ticket) {
        state.withLock { _ = $0.remove(ticket) }
    }

    public func didApply(_ outcomes: [ChatOutcome]) {
        var arrived: [String: [StoredMessage]] = [:]
        var deleted = Set<String>()
        var closed: [(accountKey: String, tokenHash: String)] = []
        // Accounts whose inbox or sessions the batch changed otherwise than by adding messages:
        // their long-polls read again. An acknowledgement elsewhere does not concern them.
        var changedBeyondAdds = Set<String>()
        var everyAccountChanged = false
        for outcome in outcomes {
            switch outcome {
            case .messageSent(let message, let isReplay):
                if !isReplay { arrived[Username.key(message.recipient), default: []].append(message) }
            case .accountDeleted(let username):
                deleted.insert(Username.key(username))
            case .accountCreated, .sessionOpened, .sessionsTouched:
                break
            case .sessionClosed(let accountKey, let tokenHash):
                closed.append((accountKey, tokenHash))
                changedBeyondAdds.insert(accountKey)
            case .acknowledged(let accountKey, _):
                changedBeyondAdds.insert(accountKey)
            case .sessionsExpired:
                everyAccountChanged = true
            }
        }
        guard !arrived.isEmpty || !deleted.isEmpty || !closed.isEmpty else { return }
        let appliedAt = ContinuousClock.now
        var ended: [LongPollDeadlines.Token] = []
        let woken = state.withLock { state -> [(Wake, Arrival?)] in
            for (key, messages) in arrived {
                state.lastSeqByAccount[key] = max(state.lastSeqByAccount[key] ?? 0, messages.last!.seq)
            }
            for key in deleted { state.lastSeqByAccount[key] = nil }
            var woken: [(Wake, Arrival?)] = []
            for key in Set(arrived.keys).union(deleted) {
                let arrival = Arrival(
                    appliedAt: appliedAt,
                    messages: everyAccountChanged || changedBeyondAdds.contains(key) || deleted.contains(key) ? nil : arrived[key],
                    added: arrived[key] ?? [])
                woken += state.takeWaiting(
                    accountKey: key, firedBy: arrival.messages == nil ? .batchToLookAt : .answerable, ended: &ended
                ).map { ($0, arrival) }
            }
            // A closed session's long-polls read again, and find the session gone.
            for session in closed {
                woken += state.takeWaiting(accountKey: session.accountKey, session: session.tokenHash, ended: &ended)
                    .map { ($0, nil) }
            }
            return woken
        }
        deadlines.cancel(ended)
        Self.run(woken)
    }

    /// Wakes every long-poll, marked so that each looks at its inbox again; always in tasks,
    /// since each then reads SQLite, and this is the driver's thread.
    public func didReplaceState() {
        let arrival = Arrival(appliedAt: .now, messages: nil, replacedState: true)
        var ended: [LongPollDeadlines.Token] = []
        let woken = state.withLock { state -> [(Wake, Arrival?)] in
            state.lastSeqByAccount = [:]
            return Array(state.byAccount.keys).flatMap { key in
                state.takeWaiting(accountKey: key, firedBy: .replacedState, ended: &ended).map { ($0, arrival) }
            }
        }
        deadlines.cancel(ended)
        Self.run(woken, mayRunInline: false)
    }

    /// Wakes every waiting long-poll, as if its time ran out.
    public func wakeEveryone() {
        var ended: [LongPollDeadlines.Token] = []
        let woken = state.withLock { state -> [(Wake, Arrival?)] in
            Array(state.byAccount.keys).flatMap { key in state.takeWaiting(accountKey: key, ended: &ended).map { ($0, nil) } }
        }
        deadlines.cancel(ended)
        Self.run(woken)
    }

    /// Ends a waiting long-poll now, as if its time ran out (its client left), and forgets its deadline.
    public func endWait(_ ticket: Ticket) {
        let ended = state.withLock { state -> (Wake, LongPollDeadlines.Token)? in
            guard case .waiting(let wake, let deadline) = state.byAccount[ticket.accountKey]?[ticket.id]?.waiter else {
                // Ended before it waits (its client left meanwhile): its wait returns at once.
                if case .armed = state.byAccount[ticket.accountKey]?[ticket.id]?.waiter {
                    state.byAccount[ticket.accountKey]?[ticket.id]?.waiter = .fired(.answerable)
                }
                return nil
            }
            _ = state.remove(ticket)
            return (wake, deadline)
        }
        guard let (wake, deadline) = ended else { return }
        deadlines.cancel([deadline])
        wake(nil)
    }

    private func fire(_ ticket: Ticket) {
        let wake = state.withLock { state -> Wake? in
            guard let waiter = state.byAccount[ticket.accountKey]?[ticket.id]?.waiter else { return nil }
            guard case .waiting(let wake, _) = waiter else {
                if case .armed = waiter { state.byAccount[ticket.accountKey]?[ticket.id]?.waiter = .fired(.answerable) }
                return nil
            }
            _ = state.remove(ticket)
            return wake
        }
        wake?(nil)
    }

    private static func run(_ wakes: [(Wake, Arrival?)], mayRunInline: Bool = true) {
        guard !mayRunInline || wakes.count > wakesPerTask else {
            for (wake, arrival) in wakes { wake(arrival) }
            return
        }
        var start = 0
        while start < wakes.count {
            let group = wakes[start..<min(start + wakesPerTask, wakes.count)]
            Task { for (wake, arrival) in group { wake(arrival) } }
            start += wakesPerTask
        }
    }
}
