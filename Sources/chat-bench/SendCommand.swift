import ArgumentParser
import Foundation

/// `chat-bench send`: committed sends per second, and the acknowledgement log failover needs.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "Send messages on keep-alive connections; print throughput and latency.")

    @Option(help: "Replica base URLs, comma-separated; the first is tried first, 307s are followed.")
    var urls: String

    @Option(help: "Keep-alive connections (concurrent senders).")
    var connections: Int = 64

    @Option(help: "Sends per second across all connections (default: as fast as answered).")
    var rate: Double?

    @Option(help: "Seconds to run.")
    var duration: Double?

    @Option(help: "Messages to send, then stop.")
    var count: Int?

    @Option(help: "Stop when this file appears.")
    var stopFile: String?

    @Option(help: "Recipient accounts to spread sends over.")
    var recipients: Int = 1

    @Option(help: "Per-request timeout in milliseconds.")
    var timeoutMs: Int64 = 2_000

    @Option(help: "Write one line per acknowledged send: attempt start and acknowledgement, CLOCK_MONOTONIC ns.")
    var ackLog: String?

    struct Output: Encodable {
        var scenario = "send"
        var connections: Int
        var result: SendLoad.Result
    }

    func validate() throws {
        guard duration != nil || count != nil || stopFile != nil else {
            throw ValidationError("give --duration, --count or --stop-file")
        }
    }

    func run() async throws {
        raiseOpenFileLimit()
        let targets = urls.split(separator: ",").map(String.init)
        let http = BenchHTTP(connections: connections + 4)
        let result: SendLoad.Result
        let acknowledgements: [SendLoad.Acknowledgement]
        do {
            let sender = try await ChatUsers.create(http, base: targets[0], prefix: "s", count: 1)[0]
            let recipientUsers = try await ChatUsers.create(http, base: targets[0], prefix: "r", count: recipients)
            var plan = SendLoad.Plan(
                targets: targets, sender: sender, recipients: recipientUsers.map(\.username), workers: connections,
                ratePerSecond: rate, durationSeconds: duration, count: count)
            plan.stopFile = stopFile
            plan.requestTimeoutMilliseconds = timeoutMs
            plan.recordAcknowledgements = ackLog != nil
            progress("sending on \(connections) connections to \(targets[0])")
            (result, acknowledgements) = await SendLoad(plan: plan, http: http).run()
        } catch {
            await http.shutdown()
            throw error
        }
        await http.shutdown()
        if let ackLog {
            let lines = acknowledgements.map { "\($0.attemptStartNanoseconds) \($0.acknowledgedNanoseconds)\n" }
            try lines.joined().write(toFile: ackLog, atomically: true, encoding: .utf8)
        }
        try printJSON(Output(connections: connections, result: result))
    }
}
