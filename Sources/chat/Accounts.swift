import ArgumentParser
import ChatClient

struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the usernames that match a pattern, one a line.")

    @Argument(help: "A case-insensitive glob with * and ?; all accounts when omitted.")
    var pattern: String?

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await CommandContext.run(cluster) { context in
            try await context.api.forEachAccount(matching: pattern) { account in
                Console.writeOutput(account.username + "\n")
            }
        }
    }
}
