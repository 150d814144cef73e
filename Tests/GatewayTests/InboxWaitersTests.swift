import Synchronization
import Testing
@testable import Gateway
import ReplicaCore

/// What a long-poll learns without reading SQLite: whether its inbox holds anything after its
/// position, and the messages that woke it, but only when the waking batch did nothing else.
@Suite struct InboxWaitersTests {
    static func message(to recipient: String, seq: Int64) -> StoredMessage {
        StoredMessage(id: "m\(seq)", seq: seq, sender: "alice", recipient: recipient, body: "hi \(seq)", sentAtMillis: seq)
    }

    /// What one wake handed over; nil until woken.
    final class Woken: Sendable {
        private let arrival = Mutex<InboxWaiters.Arrival??>(nil)
        func record(_ value: InboxWaiters.Arrival?) { arrival.withLock { $0 = .some(value) } }
        var value: InboxWaiters.Arrival?? { arrival.withLock { $0 } }
    }

    /// Waits on bob's inbox, with the session `tokenHash`, and returns what the wake hands over.
    static func waitOnBob(_ waiters: InboxWaiters, session tokenHash: String = "bob-session") -> Woken {
        let woken = Woken()
        let ticket = waiters.register(accountKey: "bob", tokenHash: tokenHash)
        waiters.wait(ticket, until: .now + .seconds(60)) { arrival in woken.record(arrival) }
        return woken
    }

    @Test func anInboxNoMessageWasAppliedToIsUnknownNotEmpty() {
        let waiters = InboxWaiters()
        let ticket = waiters.register(accountKey: "bob", tokenHash: "bob-session")
        #expect(!waiters.holdsNothing(after: 0, for: ticket), "an inbox with messages from before the start would be skipped")
        waiters.cancel(ticket)
    }

    @Test func anInboxHoldsNothingAfterItsLastAppliedMessage() {
        let waiters = InboxWaiters()
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 2), isReplay: false),
                          .messageSent(Self.message(to: "bob", seq: 3), isReplay: false)])
        let ticket = waiters.register(accountKey: "bob", tokenHash: "bob-session")
        #expect(waiters.holdsNothing(after: 3, for: ticket))
        #expect(waiters.holdsNothing(after: 10, for: ticket))
        #expect(!waiters.holdsNothing(after: 2, for: ticket), "message 3 is after 2")
        waiters.cancel(ticket)
    }

    @Test func aDeletedAccountOrAReplacedStateIsUnknownAgain() {
        let waiters = InboxWaiters()
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 5), isReplay: false)])
        waiters.didApply([.accountDeleted(username: "bob")])
        let ticket = waiters.register(accountKey: "bob", tokenHash: "bob-session")
        #expect(!waiters.holdsNothing(after: 5, for: ticket), "a re-created bob starts again from 1")
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 1), isReplay: false)])
        waiters.didReplaceState()
        #expect(!waiters.holdsNothing(after: 1, for: ticket), "a snapshot may hold any inbox")
        waiters.cancel(ticket)
    }

    @Test func aSnapshotInstallWakesAWaitingLongPollMarkedToLookAgain() async throws {
        let waiters = InboxWaiters()
        let woken = Self.waitOnBob(waiters)
        waiters.didReplaceState()
        // Woken in a task, never on the thread that installed the snapshot.
        for _ in 0..<1_000 where woken.value == nil { try await Task.sleep(for: .milliseconds(2)) }
        let arrival = try #require(woken.value, "the long-poll was not woken")
        #expect(arrival?.replacedState == true, "woken as if its time ran out: \(String(describing: arrival))")
    }

    /// Registered, reading its inbox, when a snapshot is installed: its wait returns at once,
    /// still marked, so it looks again rather than answering from the state it read before.
    @Test func aLongPollRegisteredBeforeASnapshotInstallKeepsTheMarkWhenItWaits() throws {
        let waiters = InboxWaiters()
        let ticket = waiters.register(accountKey: "bob", tokenHash: "bob-session")
        waiters.didReplaceState()
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 1), isReplay: false)])
        let woken = Woken()
        waiters.wait(ticket, until: .now + .seconds(60)) { arrival in woken.record(arrival) }
        let arrival = try #require(woken.value, "the wait did not return at once")
        #expect(arrival?.replacedState == true, "the install's mark was lost: \(String(describing: arrival))")
    }

    /// Registered, reading its inbox, when a batch adds a message and acknowledges it: its wait
    /// returns at once, told the batch did more than add messages, so it looks again.
    @Test func aLongPollFiredByAMixedBatchBeforeItWaitsIsToldToLookAgain() throws {
        let waiters = InboxWaiters()
        let ticket = waiters.register(accountKey: "bob", tokenHash: "bob-session")
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 2), isReplay: false), .acknowledged(accountKey: "bob", upTo: 2)])
        let woken = Woken()
        waiters.wait(ticket, until: .now + .seconds(60)) { arrival in woken.record(arrival) }
        let arrival = try #require(woken.value, "the wait did not return at once")
        #expect(arrival != nil && arrival?.messages == nil, "handed \(String(describing: arrival)), as if its time ran out")
    }

    /// A long-poll ahead of its inbox tells from them that it has nothing new, whatever else
    /// the batch did (here its own account's acknowledgement).
    @Test func aWokenLongPollIsToldWhichMessagesWereAddedEvenInAMixedBatch() throws {
        let waiters = InboxWaiters()
        let woken = Self.waitOnBob(waiters)
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 1), isReplay: false), .acknowledged(accountKey: "bob", upTo: 3)])
        let arrival = try #require(woken.value ?? nil, "not woken")
        #expect(arrival.messages == nil, "the batch did more than add messages")
        #expect(arrival.added.map(\.seq) == [1])
    }

    @Test func aWokenLongPollIsHandedTheMessagesThatWokeIt() throws {
        let waiters = InboxWaiters()
        let woken = Self.waitOnBob(waiters)
        waiters.didApply([.messageSent(Self.message(to: "carol", seq: 1), isReplay: false),
                          .messageSent(Self.message(to: "bob", seq: 4), isReplay: false),
                          .messageSent(Self.message(to: "bob", seq: 3), isReplay: true),
                          .messageSent(Self.message(to: "bob", seq: 5), isReplay: false),
                          .sessionsTouched])
        let arrival = try #require(woken.value ?? nil, "bob's long-poll was not woken")
        #expect(arrival.messages?.map(\.seq) == [4, 5], "only bob's new messages, in order, replays left out")
    }

    @Test(arguments: [
        ChatOutcome.acknowledged(accountKey: "bob", upTo: 4), .sessionClosed(accountKey: "bob", tokenHash: "another"),
        .sessionsExpired,
    ])
    func aBatchThatChangesMoreThanInboxesHandsNoMessages(_ other: ChatOutcome) throws {
        let waiters = InboxWaiters()
        let woken = Self.waitOnBob(waiters)
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 4), isReplay: false), other])
        let arrival = try #require(woken.value ?? nil, "bob's long-poll was not woken")
        #expect(arrival.messages == nil, "after \(other) the inbox must be read again")
    }

    /// Others acknowledging or logging out in the same batch leave bob's long-poll the messages
    /// that woke it, so it answers without reading SQLite again.
    @Test(arguments: [
        ChatOutcome.acknowledged(accountKey: "carol", upTo: 4), .sessionClosed(accountKey: "carol", tokenHash: "carol-session"),
        .accountDeleted(username: "carol"),
    ])
    func anotherAccountsChangeInTheBatchStillHandsTheMessages(_ other: ChatOutcome) throws {
        let waiters = InboxWaiters()
        let woken = Self.waitOnBob(waiters)
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 4), isReplay: false), other])
        let arrival = try #require(woken.value ?? nil, "bob's long-poll was not woken")
        #expect(arrival.messages?.map(\.seq) == [4], "\(other), which is carol's, made bob's long-poll read again")
    }

    @Test func aDeletedAccountWakesItsLongPollsWithoutMessages() throws {
        let waiters = InboxWaiters()
        let woken = Self.waitOnBob(waiters)
        waiters.didApply([.accountDeleted(username: "bob")])
        let arrival = try #require(woken.value ?? nil, "bob's long-poll was not woken")
        #expect(arrival.messages == nil)
    }

    @Test func closingASessionWakesItsOwnLongPollsAndNoOthers() throws {
        let waiters = InboxWaiters()
        let closing = Self.waitOnBob(waiters, session: "closing")
        let staying = Self.waitOnBob(waiters, session: "staying")
        waiters.didApply([.sessionClosed(accountKey: "bob", tokenHash: "closing")])
        let arrival = try #require(closing.value, "the closed session's long-poll waits on")
        #expect(arrival == nil, "it must read again, and find its session gone")
        #expect(staying.value == nil, "another session's long-poll was woken with nothing new")
        #expect(waiters.waitingCount == 1)
    }

    @Test func aLongPollWhoseSessionClosedBeforeItWaitedReturnsAtOnce() throws {
        let waiters = InboxWaiters()
        let ticket = waiters.register(accountKey: "bob", tokenHash: "closing")
        waiters.didApply([.sessionClosed(accountKey: "bob", tokenHash: "closing")])
        let woken = Woken()
        waiters.wait(ticket, until: .now + .seconds(60)) { arrival in woken.record(arrival) }
        #expect(woken.value != nil, "the long-poll registered before its session closed waits its whole deadline")
        #expect(waiters.waitingCount == 0)
    }

    @Test func wokenLongPollsCancelTheirDeadlines() async throws {
        let deadlines = LongPollDeadlines()
        let waiters = InboxWaiters(deadlines: deadlines)
        let woken = (0..<200).map { _ in Self.waitOnBob(waiters) }
        #expect(deadlines.heldCount == 200)
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 1), isReplay: false)])
        #expect(deadlines.heldCount <= LongPollDeadlines.cancelledBeforeCompacting,
                "the deadlines of answered long-polls stay held: \(deadlines.heldCount) of 200")
        // So many are woken from tasks, a little later.
        let deadline = ContinuousClock.now + .seconds(10)
        while !woken.allSatisfy({ $0.value != nil }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(woken.allSatisfy { $0.value != nil }, "every long-poll on bob's inbox is woken")
    }

    @Test func endingAWaitWakesItOnceAsIfItsTimeRanOut() {
        let waiters = InboxWaiters()
        let woken = Woken()
        let ticket = waiters.register(accountKey: "bob", tokenHash: "bob-session")
        waiters.wait(ticket, until: .now + .seconds(60)) { arrival in woken.record(arrival) }
        waiters.endWait(ticket)
        #expect(woken.value.map { $0 == nil } == true, "an ended wait must wake with no arrival, to read the inbox")
        #expect(waiters.waitingCount == 0, "an ended wait still counts as waiting")
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 1), isReplay: false)])
        #expect(woken.value.map { $0 == nil } == true, "an ended wait was woken again by a message")
    }

    @Test func aWaitEndedBeforeItWaitsWakesAtOnceAsIfItsTimeRanOut() {
        let waiters = InboxWaiters()
        let woken = Woken()
        let ticket = waiters.register(accountKey: "bob", tokenHash: "bob-session")
        waiters.endWait(ticket)
        waiters.wait(ticket, until: .now + .seconds(60)) { arrival in woken.record(arrival) }
        #expect(woken.value.map { $0 == nil } == true, "a wait whose client had left waited on")
        #expect(waiters.waitingCount == 0, "an ended wait still counts as waiting")
    }

    @Test func endingAWaitAlreadyWokenDoesNothing() {
        let waiters = InboxWaiters()
        let woken = Woken()
        let ticket = waiters.register(accountKey: "bob", tokenHash: "bob-session")
        waiters.wait(ticket, until: .now + .seconds(60)) { arrival in woken.record(arrival) }
        waiters.didApply([.messageSent(Self.message(to: "bob", seq: 1), isReplay: false)])
        waiters.endWait(ticket)
        #expect(woken.value??.messages?.map(\.seq) == [1], "ending a woken wait replaced its wake")
    }
}
