import ArgumentParser
import Foundation
import Histogram
import Synchronization

/// `chat-bench delivery`: from the start of a send at the leader to its receipt by a long-poll
/// held on a follower, at a fixed send rate.
///
/// Each message's body carries the CLOCK_MONOTONIC time its send started; the poller that
/// receives it subtracts that from the time its response arrived. Sender and pollers share
/// this process, so they share the clock.
struct DeliveryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery", abstract: "Send at a fixed rate; measure send-to-receipt latency at a follower's long-poll.")

    @Option(help: "Where sends go (the leader; 307s are followed).")
    var sendURL: String

    @Option(help: "Where the long-polls wait (a follower), with consistency=stale.")
    var pollURL: String

    @Option(help: "Sends per second.")
    var rate: Double = 1_000

    @Option(help: "Seconds of sending.")
    var duration: Double = 10

    @Option(help: "Recipients, each with one long-poll loop at the follower.")
    var recipients: Int = 8

    @Option(help: "Connections for sending.")
    var connections: Int = 32

    enum Client: String, ExpressibleByArgument {
        case threads, nio
    }

    @Option(help: "threads: blocking connections on threads (http only); nio: AsyncHTTPClient.")
    var client: Client = .threads

    struct Output: Encodable {
        var scenario = "delivery"
        var rate: Double
        var recipients: Int
        /// Which client drove the load: `threads` or `nio`.
        var client: String
        var send: SendLoad.Result
        var received: Int
        var lost: Int
        var deliveryLatencyUs: LatencySummary
    }

    func run() async throws {
        raiseOpenFileLimit()
        let http = BenchHTTP(connections: connections + recipients + 4)
        do {
            try await measure(http)
        } catch {
            await http.shutdown()
            throw error
        }
        await http.shutdown()
    }

    private func measure(_ http: BenchHTTP) async throws {
        let sender = try await ChatUsers.create(http, base: sendURL, prefix: "s", count: 1)[0]
        let users = try await ChatUsers.create(http, base: sendURL, prefix: "r", count: recipients)
        try await ChatUsers.awaitKnown(users, http: http, base: pollURL)
        let pollers = users.map { InboxPoller(user: $0, base: pollURL, http: http) }
        // Plain http is driven from threads with blocking connections, which cost the measured
        // machine far less CPU than AsyncHTTPClient; https (and `--client nio`) keeps the latter.
        let onThreads = client == .threads && sendURL.hasPrefix("http:") && pollURL.hasPrefix("http:")
        var pollTasks: [Task<Void, Never>] = []
        for poller in pollers {
            if onThreads {
                let thread = Thread { poller.runBlocking() }
                thread.stackSize = 256 * 1024
                thread.start()
            } else {
                pollTasks.append(Task { await poller.run() })
            }
        }
        await MonotonicClock.sleep(milliseconds: 300)  // let every long-poll reach the follower

        progress("sending \(rate)/s for \(duration) s to \(sendURL), long-polls at \(pollURL), \(onThreads ? "threads" : "nio") client")
        let plan = SendLoad.Plan(
            targets: [sendURL], sender: sender, recipients: users.map(\.username), workers: connections,
            ratePerSecond: rate, durationSeconds: duration, count: nil)
        let load = SendLoad(plan: plan, http: http)
        let (sendResult, _) = onThreads ? load.runOnThreads(bodyPrefix: "t") : await load.run(bodyPrefix: "t")

        // Let the last messages arrive, then stop the pollers.
        let deadline = MonotonicClock.nanoseconds() + 10_000_000_000
        while pollers.reduce(0, { $0 + $1.receivedCount }) < sendResult.ok && MonotonicClock.nanoseconds() < deadline {
            await MonotonicClock.sleep(milliseconds: 20)
        }
        for poller in pollers { poller.stop() }
        for task in pollTasks { task.cancel() }
        var histogram = LatencySummary.makeHistogram()
        for poller in pollers { histogram.add(poller.histogram) }
        let received = pollers.reduce(0) { $0 + $1.receivedCount }
        try printJSON(Output(
            rate: rate, recipients: recipients, client: onThreads ? "threads" : "nio", send: sendResult, received: received,
            lost: max(0, sendResult.ok - received), deliveryLatencyUs: LatencySummary(histogram)))
    }
}

/// One long-poll loop: `GET /v1/inbox?after=…&wait=…&consistency=stale`, again and again.
final class InboxPoller: Sendable {
    let user: ChatUser
    let base: String
    let http: BenchHTTP
    private struct State {
        var histogram = LatencySummary.makeHistogram()
        var received = 0
        var stopped = false
    }
    private let state = Mutex(State())

    init(user: ChatUser, base: String, http: BenchHTTP) {
        self.user = user
        self.base = base
        self.http = http
    }

    var receivedCount: Int { state.withLock { $0.received } }
    var histogram: Histogram<UInt64> { state.withLock { $0.histogram } }
    func stop() { state.withLock { $0.stopped = true } }

    func run() async {
        var after: Int64 = 0
        while !state.withLock({ $0.stopped }) && !Task.isCancelled {
            let reply = try? await http.get(base + target(after: after), token: user.token, timeoutMilliseconds: 20_000)
            if !record(reply, at: MonotonicClock.nanoseconds(), after: &after) {
                await MonotonicClock.sleep(milliseconds: 10)
            }
        }
    }

    /// `run` on the calling thread with a blocking connection (`http://` only).
    func runBlocking() {
        guard let connection = try? BlockingHTTPConnection(base: base, timeoutMilliseconds: 20_000) else { return }
        var after: Int64 = 0
        while !state.withLock({ $0.stopped }) {
            let reply = try? connection.get(target(after: after), token: user.token)
            if !record(reply, at: MonotonicClock.nanoseconds(), after: &after) {
                usleep(10_000)
            }
        }
    }

    private func target(after: Int64) -> String {
        "/v1/inbox?after=\(after)&wait=5&limit=1000&consistency=stale"
    }

    /// Records the latency of each message in an inbox page received at `now` and moves `after`
    /// to the page's `next_after`; false when the reply is no page.
    private func record(_ reply: Reply?, at now: UInt64, after: inout Int64) -> Bool {
        guard let reply, reply.status == 200, let page = try? decoder.decode(InboxPage.self, from: Data(reply.body)) else {
            return false
        }
        state.withLock { state in
            for message in page.messages {
                guard let sent = UInt64(message.body.dropFirst(2)) else { continue }
                state.received += 1
                _ = state.histogram.record(now > sent ? (now - sent) / 1000 : 0)
            }
        }
        if let next = page.nextAfter { after = next }
        return true
    }

    /// What the poller reads of an inbox page (`JSONSerialization` and its bridged objects cost
    /// the load generator more of the shared cores).
    private struct InboxPage: Decodable {
        struct Message: Decodable { var body: String }
        var messages: [Message]
        var nextAfter: Int64?

        enum CodingKeys: String, CodingKey {
            case messages
            case nextAfter = "next_after"
        }
    }
    private let decoder = JSONDecoder()
}
