import ArgumentParser
import ChatClient

struct DeleteAccount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-account", abstract: "Delete the logged-in account and forget the saved session.")

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await CommandContext.run(cluster) { context in
            let username = try context.loggedInUsername()
            try await context.api.deleteAccount(username)
            try context.configurationFile.save(ClientConfiguration())
            Console.writeOutput("Deleted account \(username).\n")
        }
    }
}
