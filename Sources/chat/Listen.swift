import ArgumentParser
import ChatClient

struct Listen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print incoming messages as `[sent_at] from: body`, acknowledging each batch once printed.")

    @Flag(help: "Exit after the first batch of messages.")
    var once = false

    @Option(help: "Seconds each poll asks the server to wait for a message (0 to 60).")
    var wait = 30

    @OptionGroup var cluster: ClusterOptions

    func validate() throws {
        guard (0...60).contains(wait) else {
            throw ValidationError("--wait must be 0 to 60 seconds.")
        }
    }

    func run() async throws {
        try await CommandContext.run(cluster) { context in
            _ = try context.loggedInUsername()
            let listener = InboxListener(api: context.api, waitSeconds: wait)
            try await listener.run(once: once) { message in
                try Console.deliverOutput(message.displayLine + "\n")
            }
        }
    }
}
