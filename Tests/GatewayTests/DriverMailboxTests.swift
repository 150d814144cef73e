import Dispatch
import Testing
@testable import Gateway
import ReplicaCore

/// The driver's mailbox wakes it once for what arrived while it was busy, and never misses an input.
@Suite struct DriverMailboxTests {
    @Test func inputsThatArriveTogetherAreTakenInOneTurn() {
        let mailbox = DriverMailbox()
        for _ in 0..<3 { mailbox.enqueue(.transferLeadership) }
        #expect(mailbox.take(waitingUntil: .now() + 2).inputs.count == 3)
    }

    @Test func aTurnThatTookEverythingIsNotFollowedByEmptyTurns() {
        let mailbox = DriverMailbox()
        for _ in 0..<3 { mailbox.enqueue(.transferLeadership) }
        _ = mailbox.take(waitingUntil: .now() + 2)
        let start = DispatchTime.now()
        let next = mailbox.take(waitingUntil: .now() + 0.05)
        let waitedNanoseconds = DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds
        #expect(next.inputs.isEmpty)
        // A lower bound only: an empty take that returns at once is the spurious turn.
        #expect(waitedNanoseconds >= 40_000_000, "the next take returned after \(waitedNanoseconds) ns without waiting")
    }

    @Test func anInputAfterATakeWakesTheNextTake() {
        let mailbox = DriverMailbox()
        mailbox.enqueue(.transferLeadership)
        _ = mailbox.take(waitingUntil: .now() + 2)
        mailbox.enqueue(.unreachable(NodeID(2)))
        #expect(mailbox.take(waitingUntil: .now() + 2).inputs.count == 1, "an input was queued but no take saw it")
    }

    @Test func anInputAfterAStopIsRefused() {
        let mailbox = DriverMailbox()
        mailbox.stop()
        var refused = false
        mailbox.enqueue(.transferLeadership) { refused = true }
        #expect(refused)
    }
}
