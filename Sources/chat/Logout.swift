import ArgumentParser
import ChatClient

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Log out and forget the saved session.")

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await CommandContext.run(cluster) { context in
            guard context.configuration.token != nil else {
                Console.writeOutput("Not logged in.\n")
                return
            }
            do {
                try await context.api.logOut()
            } catch ChatClientError.server(let error) where error.status == 401 {
                // The token was already revoked or unknown: forgetting it is all that is left.
            }
            try context.configurationFile.save(ClientConfiguration())
            Console.writeOutput("Logged out.\n")
        }
    }
}
