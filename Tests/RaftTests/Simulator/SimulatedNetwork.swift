@testable import ReplicaCore

/// A directed link between two replicas.
struct Link: Hashable {
    var from: NodeID
    var to: NodeID
}

/// Messages in flight, each due at a step. Faults are applied on send
/// (drop, duplicate, delay) and on delivery (a link cut meanwhile).
struct SimulatedNetwork {
    struct InFlight {
        var deliverAt: Int
        var sequence: Int
        var message: RaftMessage
    }

    private(set) var inFlight: [InFlight] = []
    private var nextSequence = 0
    /// Directed links that currently lose every message.
    var blockedLinks: Set<Link> = []
    /// Scenario hook: a message for which this returns true is dropped on send.
    var dropRule: ((RaftMessage) -> Bool)?

    func isBlocked(from: NodeID, to: NodeID) -> Bool {
        !blockedLinks.isEmpty && blockedLinks.contains(Link(from: from, to: to))
    }

    /// Queues `message`, returning false if it was dropped.
    mutating func send(
        _ message: RaftMessage, now: Int, faults: FaultProfile, using generator: inout SeededGenerator
    ) -> Bool {
        if isBlocked(from: message.from, to: message.to) { return false }
        if let dropRule, dropRule(message) { return false }
        if faults.dropProbability > 0 && Double.random(in: 0..<1, using: &generator) < faults.dropProbability {
            return false
        }
        var copies = 1
        if faults.duplicateProbability > 0
            && Double.random(in: 0..<1, using: &generator) < faults.duplicateProbability
        {
            copies = 2
        }
        for _ in 0..<copies {
            var delay = 1
            if faults.maxExtraDelaySteps > 0 {
                delay += Int.random(in: 0...faults.maxExtraDelaySteps, using: &generator)
            }
            inFlight.append(InFlight(deliverAt: now + delay, sequence: nextSequence, message: message))
            nextSequence += 1
        }
        return true
    }

    /// Removes and returns the messages due at `now`, in a deterministic order.
    mutating func takeDue(now: Int) -> [RaftMessage] {
        var due: [InFlight] = []
        var remaining: [InFlight] = []
        remaining.reserveCapacity(inFlight.count)
        for item in inFlight {
            if item.deliverAt <= now { due.append(item) } else { remaining.append(item) }
        }
        inFlight = remaining
        due.sort { ($0.deliverAt, $0.sequence) < ($1.deliverAt, $1.sequence) }
        return due.map(\.message)
    }

    /// Removes and returns every queued message, for scenarios that deliver by hand.
    mutating func takeAll() -> [RaftMessage] {
        let all = inFlight.sorted { $0.sequence < $1.sequence }.map(\.message)
        inFlight = []
        return all
    }

    // MARK: Partitions

    /// Cuts both directions between the two sides.
    mutating func partition(_ side: [NodeID], from other: [NodeID], oneWay: Bool = false) {
        for a in side {
            for b in other {
                blockedLinks.insert(Link(from: a, to: b))
                if !oneWay { blockedLinks.insert(Link(from: b, to: a)) }
            }
        }
    }

    mutating func isolate(_ node: NodeID, among all: [NodeID]) {
        partition([node], from: all.filter { $0 != node })
    }

    mutating func heal() {
        blockedLinks.removeAll()
    }
}
