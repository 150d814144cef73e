import ArgumentParser

/// `chat-bench`: the load generator behind `make bench`, for the scenarios wrk cannot express.
///
/// Every subcommand prints exactly one JSON object on stdout (progress goes to stderr), so the
/// driver (`bench/run.py`) can parse it.
@main
struct ChatBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-bench",
        abstract: "Load generator for the chat service benchmarks; prints JSON on stdout.",
        subcommands: [SetupCommand.self, SendCommand.self, DeliveryCommand.self, LongPollCommand.self])
}
