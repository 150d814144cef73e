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
        return summarize(outcomes, start: start)
    }

    /// Runs the plan on one thread and one blocking connection per worker (`http://` only): the
    /// same sends at the same schedule, at a fraction of the load generator's CPU.
    func runOnThreads(bodyPrefix: String = "bench") -> (Result, [Acknowledgement]) {
        let start = MonotonicClock.nanoseconds()
        let end = plan.durationSeconds.map { start + UInt64($0 * 1e9) }
        let outcomes = Mutex<[WorkerOutcome]>([])
        let finished = DispatchGroup()
        for index in 0..<plan.workers {
            finished.enter()
            let thread = Thread {
                let outcome = self.blockingWorker(index: index, start: start, end: end, bodyPrefix: bodyPrefix)
                outcomes.withLock { $0.append(outcome) }
                finished.leave()
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
        finished.wait()
        return summarize(outcomes.withLock { $0 }, start: start)
    }

    private func summarize(_ outcomes: [WorkerOutcome], start: UInt64) -> (Result, [Acknowledgement]) {
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

    /// Claims the next send and the time it is due (under a rate), or nil when the run is over.
    private func claimSlot(start: UInt64, end: UInt64?) -> (slot: Int, due: UInt64?)? {
        let slot = nextSlot.withLock { value -> Int in
            defer { value += 1 }
            return value
        }
        if let count = plan.count, slot >= count { return nil }
        guard let rate = plan.ratePerSecond else { return (slot, nil) }
        let due = start + UInt64(Double(slot) / rate * 1e9)
        if let end, due >= end { return nil }
        return (slot, due)
    }

    /// Whether a claimed send, its slot come, still falls within the run.
    private func isRunning(end: UInt64?) -> Bool {
        if let end, MonotonicClock.nanoseconds() >= end { return false }
        if let stopFile = plan.stopFile, FileManager.default.fileExists(atPath: stopFile) { return false }
        return true
    }

    /// Claims the next send, or nil when the run is over; waits for its slot under a rate.
    private func claim(start: UInt64, end: UInt64?) async -> Int? {
        guard let (slot, due) = claimSlot(start: start, end: end) else { return nil }
        if let due { await MonotonicClock.sleep(untilNanoseconds: due) }
        return isRunning(end: end) ? slot : nil
    }

    private func claimBlocking(start: UInt64, end: UInt64?) -> Int? {
        guard let (slot, due) = claimSlot(start: start, end: end) else { return nil }
        if let due { MonotonicClock.sleepBlocking(untilNanoseconds: due) }
        return isRunning(end: end) ? slot : nil
    }

    /// What a worker does after one attempt at a send.
    private enum Next {
        case done
        case redirect(to: String)
        case retry
    }

    /// Counts one attempt's answer (nil: refused, reset or timed out) into `outcome`.
    private func judge(_ reply: Reply?, sendStart: UInt64, attemptStart: UInt64, now: UInt64, into outcome: inout WorkerOutcome) -> Next {
        if let reply, (200..<300).contains(reply.status) {
            outcome.ok += 1
            _ = outcome.histogram.record((now - sendStart) / 1000)
            if plan.recordAcknowledgements {
                outcome.acknowledgements.append(.init(attemptStartNanoseconds: attemptStart, acknowledgedNanoseconds: now))
            }
            return .done
        }
        if let reply, reply.status == 307, let location = reply.location, let leader = baseURL(of: location) {
            outcome.redirects += 1
            return .redirect(to: leader)
        }
        if let reply, reply.status != 503 {
            outcome.failed += 1
            outcome.firstFailure = outcome.firstFailure
                ?? "\(reply.status): \(String(decoding: reply.body.prefix(300), as: UTF8.self))"
            return .done
        }
        outcome.retries += 1
        return .retry
    }

    private func body(_ slot: Int, prefix: String, sendStart: UInt64) -> [UInt8] {
        let recipient = plan.recipients[slot % plan.recipients.count]
        return Array("{\"to\":\"\(recipient)\",\"body\":\"\(prefix) \(sendStart)\"}".utf8)
    }

    private func worker(index: Int, start: UInt64, end: UInt64?, bodyPrefix: String) async -> WorkerOutcome {
        var outcome = WorkerOutcome()
        var targetIndex = index % plan.targets.count
        var base = plan.targets[targetIndex]
        while let slot = await claim(start: start, end: end) {
            let sendStart = MonotonicClock.nanoseconds()
            let json = body(slot, prefix: bodyPrefix, sendStart: sendStart)
            // A send is retried until it is acknowledged or the run's end passes.
            attempts: while true {
                let attemptStart = MonotonicClock.nanoseconds()
                let reply = try? await http.post(
                    base + "/v1/messages", bytes: json, token: plan.sender.token,
                    timeoutMilliseconds: plan.requestTimeoutMilliseconds)
                switch judge(reply, sendStart: sendStart, attemptStart: attemptStart, now: MonotonicClock.nanoseconds(), into: &outcome) {
                case .done:
                    break attempts
                case .redirect(let leader):
                    base = leader
                case .retry:
                    // Refused, reset, timed out or 503: try the next replica after a short pause.
                    targetIndex = (targetIndex + 1) % plan.targets.count
                    base = plan.targets[targetIndex]
                    guard isRunning(end: end) else { break attempts }
                    await MonotonicClock.sleep(milliseconds: plan.retryPauseMilliseconds)
                }
            }
        }
        return outcome
    }

    /// `worker` on a thread with a blocking connection, which it replaces when it moves replica.
    private func blockingWorker(index: Int, start: UInt64, end: UInt64?, bodyPrefix: String) -> WorkerOutcome {
        var outcome = WorkerOutcome()
        var targetIndex = index % plan.targets.count
        let timeout = Int(plan.requestTimeoutMilliseconds)
        var connection: BlockingHTTPConnection
        do {
            connection = try BlockingHTTPConnection(base: plan.targets[targetIndex], timeoutMilliseconds: timeout)
        } catch {
            outcome.firstFailure = "\(error)"
            return outcome
        }
        func move(to base: String) {
            if base != connection.base, let moved = try? BlockingHTTPConnection(base: base, timeoutMilliseconds: timeout) {
                connection = moved
            }
        }
        while let slot = claimBlocking(start: start, end: end) {
            let sendStart = MonotonicClock.nanoseconds()
            let json = body(slot, prefix: bodyPrefix, sendStart: sendStart)
            attempts: while true {
                let attemptStart = MonotonicClock.nanoseconds()
                let reply = try? connection.post("/v1/messages", body: json, token: plan.sender.token)
                switch judge(reply, sendStart: sendStart, attemptStart: attemptStart, now: MonotonicClock.nanoseconds(), into: &outcome) {
                case .done:
                    break attempts
                case .redirect(let leader):
                    move(to: leader)
                case .retry:
                    targetIndex = (targetIndex + 1) % plan.targets.count
                    move(to: plan.targets[targetIndex])
                    guard isRunning(end: end) else { break attempts }
                    usleep(UInt32(plan.retryPauseMilliseconds * 1000))
                }
            }
        }
        return outcome
    }
}
