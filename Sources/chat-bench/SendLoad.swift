import Foundation
import Histogram
import Synchronization

/// A run of `POST /v1/messages` from one sender on a fixed number of keep-alive connections.
///
/// Closed loop by default (each worker sends its next message when the last is answered); with
/// a `rate`, sends are spaced on a global schedule instead. A worker follows `307` to the leader
/// and, on a refused connection, a timeout or `503`, moves to the next replica and tries again,
/// so the same engine measures plain throughput and failover.
final class SendLoad: Sendable {
    struct Plan: Sendable {
        var targets: [String]
        var sender: ChatUser
        var recipients: [String]
        var workers: Int
        var ratePerSecond: Double?
        var durationSeconds: Double?
        var count: Int?
        var requestTimeoutMilliseconds: Int64 = 2_000
        var retryPauseMilliseconds: UInt64 = 5
        /// When this file exists the run stops (how the driver ends an open-ended run).
        var stopFile: String?
        var recordAcknowledgements = false
    }

    struct Acknowledgement: Sendable {
        var attemptStartNanoseconds: UInt64
        var acknowledgedNanoseconds: UInt64
    }

    struct Result: Encodable, Sendable {
        var ok: Int
        var failed: Int
        var redirects: Int
        var retries: Int
        var seconds: Double
        var okPerSecond: Double
        var latencyUs: LatencySummary
        var firstFailure: String?
    }

    private struct WorkerOutcome: Sendable {
        var ok = 0
        var failed = 0
        var redirects = 0
        var retries = 0
        var histogram = LatencySummary.makeHistogram()
        var acknowledgements: [Acknowledgement] = []
        var firstFailure: String?
    }

    let plan: Plan
    let http: BenchHTTP
    private let nextSlot = Mutex(0)

    init(plan: Plan, http: BenchHTTP) {
        precondition(!plan.targets.isEmpty && !plan.recipients.isEmpty && plan.workers > 0)
        precondition(plan.durationSeconds != nil || plan.count != nil || plan.stopFile != nil, "a run needs a bound")
        self.plan = plan
        self.http = http
    }

    /// Runs the plan; `bodyPrefix` plus the send's start time (ns) is each message's body.
    func run(bodyPrefix: String = "bench") async -> (Result, [Acknowledgement]) {
        let start = MonotonicClock.nanoseconds()
        let end = plan.durationSeconds.map { start + UInt64($0 * 1e9) }
        let outcomes = await withTaskGroup(of: WorkerOutcome.self) { group in
            for index in 0..<plan.workers {
                group.addTask { await self.worker(index: index, start: start, end: end, bodyPrefix: bodyPrefix) }
            }
            var all: [WorkerOutcome] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        var histogram = LatencySummary.makeHistogram()
        var total = WorkerOutcome()
        for outcome in outcomes {
            histogram.add(outcome.histogram)
            total.ok += outcome.ok
            total.failed += outcome.failed
            total.redirects += outcome.redirects
            total.retries += outcome.retries
            total.firstFailure = total.firstFailure ?? outcome.firstFailure
        }
        let acknowledgements = outcomes.flatMap(\.acknowledgements).sorted { $0.acknowledgedNanoseconds < $1.acknowledgedNanoseconds }
        let result = Result(
            ok: total.ok, failed: total.failed, redirects: total.redirects, retries: total.retries,
            seconds: (seconds * 1000).rounded() / 1000, okPerSecond: (Double(total.ok) / seconds * 10).rounded() / 10,
            latencyUs: LatencySummary(histogram), firstFailure: total.firstFailure)
        return (result, acknowledgements)
    }

    /// Claims the next send, or nil when the run is over; waits for its slot under a rate.
    private func claim(start: UInt64, end: UInt64?) async -> Int? {
        let slot = nextSlot.withLock { value -> Int in
            defer { value += 1 }
            return value
        }
        if let count = plan.count, slot >= count { return nil }
        if let rate = plan.ratePerSecond {
            let due = start + UInt64(Double(slot) / rate * 1e9)
            if let end, due >= end { return nil }
            await MonotonicClock.sleep(untilNanoseconds: due)
        }
        if let end, MonotonicClock.nanoseconds() >= end { return nil }
        if let stopFile = plan.stopFile, FileManager.default.fileExists(atPath: stopFile) { return nil }
        return slot
    }

    private func worker(index: Int, start: UInt64, end: UInt64?, bodyPrefix: String) async -> WorkerOutcome {
        var outcome = WorkerOutcome()
        var targetIndex = index % plan.targets.count
        var base = plan.targets[targetIndex]
        while let slot = await claim(start: start, end: end) {
            let sendStart = MonotonicClock.nanoseconds()
            let recipient = plan.recipients[slot % plan.recipients.count]
            let json = "{\"to\":\"\(recipient)\",\"body\":\"\(bodyPrefix) \(sendStart)\"}"
            // A send is retried until it is acknowledged or the run's end passes.
            while true {
                let attemptStart = MonotonicClock.nanoseconds()
                let reply = try? await http.post(
                    base + "/v1/messages", bytes: Array(json.utf8), token: plan.sender.token,
                    timeoutMilliseconds: plan.requestTimeoutMilliseconds)
                let now = MonotonicClock.nanoseconds()
                if let reply, (200..<300).contains(reply.status) {
                    outcome.ok += 1
                    _ = outcome.histogram.record((now - sendStart) / 1000)
                    if plan.recordAcknowledgements {
                        outcome.acknowledgements.append(.init(attemptStartNanoseconds: attemptStart, acknowledgedNanoseconds: now))
                    }
                    break
                }
                if let reply, reply.status == 307, let location = reply.location, let leader = baseURL(of: location) {
                    outcome.redirects += 1
                    base = leader
                    continue
                }
                if let reply, reply.status != 503 {
                    outcome.failed += 1
                    outcome.firstFailure = outcome.firstFailure
                        ?? "\(reply.status): \(String(decoding: reply.body.prefix(300), as: UTF8.self))"
                    break
                }
                // Refused, reset, timed out or 503: try the next replica after a short pause.
                outcome.retries += 1
                targetIndex = (targetIndex + 1) % plan.targets.count
                base = plan.targets[targetIndex]
                if let end, now >= end { break }
                if let stopFile = plan.stopFile, FileManager.default.fileExists(atPath: stopFile) { break }
                await MonotonicClock.sleep(milliseconds: plan.retryPauseMilliseconds)
            }
        }
        return outcome
    }
}
