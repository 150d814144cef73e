import ArgumentParser
import Foundation
import Histogram
import Synchronization

/// `chat-bench longpoll`: many waiting long-polls on one replica, their memory, and the time
/// one message takes to wake them all.
///
/// Every long-poll waits on the same recipient's inbox, so one send wakes all of them.
struct LongPollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "longpoll", abstract: "Hold many long-polls on one replica; report its RSS and the time to wake them.")

    @Option(help: "The replica's base URL (a single-replica cluster, so it is the leader).")
    var url: String

    @Option(help: "The replica's process id, for its RSS.")
    var pid: Int32

    @Option(help: "Long-polls to hold.")
    var count: Int = 10_000

    @Option(help: "Long-polls opened before pausing briefly, so the listen queue never overflows.")
    var batch: Int = 500

    /// Tries per long-poll while the others are opening.
    static let attempts = 3

    struct Output: Encodable {
        var scenario = "longpoll"
        var count: Int
        var waitingSeen: Int
        var before: ProcessMemory
        var waiting: ProcessMemory
        var afterWake: ProcessMemory
        var maxRssWhileWakingKib: Int
        var bytesPerConnectionWaiting: Int
        var bytesPerConnectionPeak: Int
        var secondsToOpen: Double
        var secondsToWakeAll: Double
        var woken: Int
        /// Long-polls that never waited, after up to `attempts` tries each.
        var failed: Int
        /// Failed tries, by what failed (connect timeouts, resets, statuses), retried or not.
        var failedTries: [String: Int]
        var wakeLatencyUs: LatencySummary
    }

    func run() async throws {
        raiseOpenFileLimit()
        let polls = BenchHTTP(connections: count + 16)
        let control = BenchHTTP(connections: 4)
        do {
            try await measure(polls: polls, control: control)
        } catch {
            await polls.shutdown()
            await control.shutdown()
            throw error
        }
        await polls.shutdown()
        await control.shutdown()
    }

    private func measure(polls: BenchHTTP, control: BenchHTTP) async throws {
        let users = try await ChatUsers.create(control, base: url, prefix: "l", count: 2)
        let (sender, recipient) = (users[0], users[1])
        await MonotonicClock.sleep(milliseconds: 500)
        guard let before = ProcessMemory.read(pid: pid) else { throw BenchFailure("no process \(pid)") }

        let tally = WakeTally()
        let openStart = MonotonicClock.nanoseconds()
        progress("opening \(count) long-polls at \(url)")
        let tasks = (0..<count).map { index in
            Task {
                if index > 0 && index % batch == 0 {
                    // Spread the connects: the first `index` are already on their way.
                    await MonotonicClock.sleep(milliseconds: UInt64(index / batch) * 40)
                }
                // A poll whose connect fails while the others are still opening tries again, as a
                // client would; the retries and every failure's kind are reported.
                for attempt in 1...Self.attempts {
                    let reply: Reply
                    do {
                        reply = try await polls.get(
                            "\(url)/v1/inbox?after=0&wait=60&consistency=stale", token: recipient.token,
                            timeoutMilliseconds: 120_000)
                    } catch {
                        tally.note(failure: "\(error)")
                        if attempt < Self.attempts && !tally.isWaking { continue }
                        break
                    }
                    if reply.status == 200 {
                        tally.wokenAt.withLock { $0.append(MonotonicClock.nanoseconds()) }
                        return
                    }
                    tally.note(failure: "status \(reply.status)")
                    break
                }
                tally.failures.withLock { $0 += 1 }
            }
        }
        let waitingSeen = try await awaitWaiting(control: control, tally: tally)
        let secondsToOpen = Double(MonotonicClock.nanoseconds() - openStart) / 1e9
        await MonotonicClock.sleep(milliseconds: 500)
        guard let waiting = ProcessMemory.read(pid: pid) else { throw BenchFailure("process \(pid) is gone") }

        progress("\(waitingSeen) waiting; waking them with one message")
        let sampler = Task { () -> Int in
            var highest = 0
            while !Task.isCancelled {
                highest = max(highest, ProcessMemory.read(pid: pid)?.rssKib ?? 0)
                try? await Task.sleep(nanoseconds: 5_000_000)
            }
            return highest
        }
        tally.wakingStarted()
        let wakeStart = MonotonicClock.nanoseconds()
        let sent = try await control.write(url, "/v1/messages", json: ["to": recipient.username, "body": "wake"], token: sender.token)
        guard sent.status == 201 else { throw BenchFailure("the waking send answered \(sent.status)") }
        for task in tasks { await task.value }
        let wakeEnd = tally.wokenAt.withLock { $0.max() } ?? MonotonicClock.nanoseconds()
        sampler.cancel()
        let maxWhileWaking = await sampler.value
        await MonotonicClock.sleep(milliseconds: 1_000)
        guard let after = ProcessMemory.read(pid: pid) else { throw BenchFailure("process \(pid) is gone") }

        var histogram = LatencySummary.makeHistogram()
        for time in tally.wokenAt.withLock({ $0 }) { _ = histogram.record(time > wakeStart ? (time - wakeStart) / 1000 : 0) }
        let peak = max(maxWhileWaking, after.peakRssKib, waiting.rssKib)
        try printJSON(Output(
            count: count, waitingSeen: waitingSeen, before: before, waiting: waiting, afterWake: after,
            maxRssWhileWakingKib: maxWhileWaking,
            bytesPerConnectionWaiting: (waiting.rssKib - before.rssKib) * 1024 / max(count, 1),
            bytesPerConnectionPeak: (peak - before.rssKib) * 1024 / max(count, 1),
            secondsToOpen: (secondsToOpen * 1000).rounded() / 1000,
            secondsToWakeAll: (Double(wakeEnd - wakeStart) / 1e9 * 1000).rounded() / 1000,
            woken: tally.wokenAt.withLock { $0.count }, failed: tally.failures.withLock { $0 },
            failedTries: tally.failedTries.withLock { $0 },
            wakeLatencyUs: LatencySummary(histogram)))
    }

    /// Polls `/metrics` until `chat_waiting_long_polls` reaches `count` (or stops growing).
    private func awaitWaiting(control: BenchHTTP, tally: WakeTally) async throws -> Int {
        let deadline = MonotonicClock.nanoseconds() + 120_000_000_000
        var seen = 0
        var lastChange = MonotonicClock.nanoseconds()
        while MonotonicClock.nanoseconds() < deadline {
            if let reply = try? await control.get("\(url)/metrics"), reply.status == 200 {
                let now = Self.waitingLongPolls(in: String(decoding: reply.body, as: UTF8.self))
                if now != seen { lastChange = MonotonicClock.nanoseconds() }
                seen = now
            }
            if seen + tally.failures.withLock({ $0 }) >= count { return seen }
            if MonotonicClock.nanoseconds() - lastChange > 15_000_000_000 { return seen }
            await MonotonicClock.sleep(milliseconds: 100)
        }
        return seen
    }

    static func waitingLongPolls(in metrics: String) -> Int {
        for line in metrics.split(separator: "\n") where line.hasPrefix("chat_waiting_long_polls") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return Int(value) }
        }
        return 0
    }
}

/// What the long-poll tasks report back: when each was answered, and how many failed.
final class WakeTally: Sendable {
    let wokenAt = Mutex<[UInt64]>([])
    let failures = Mutex(0)
    let failedTries = Mutex<[String: Int]>([:])
    private let waking = Atomic(false)

    /// Once the waking message is on its way, a failed poll is not tried again.
    var isWaking: Bool { waking.load(ordering: .acquiring) }
    func wakingStarted() { waking.store(true, ordering: .releasing) }

    func note(failure kind: String) {
        failedTries.withLock { $0[String(kind.prefix(120)), default: 0] += 1 }
    }
}
