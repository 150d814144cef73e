import ArgumentParser
import ChatClient

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a message.")

    @Argument(help: "The recipient's username.")
    var to: String

    @Argument(help: "The message.")
    var text: String

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await CommandContext.run(cluster) { context in
            let message = try await context.api.send(text, to: to)
            Console.writeOutput("Sent \(message.id) to \(message.recipient).\n")
        }
    }
}
