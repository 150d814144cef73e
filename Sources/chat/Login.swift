import ArgumentParser
import ChatClient

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log in and save the session token in the configuration file ($CHAT_CONFIG).")

    @Argument(help: "The username.")
    var name: String

    @OptionGroup var password: PasswordOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let password = try password.readPassword()
        try await CommandContext.run(cluster) { context in
            let session = try await context.api.logIn(username: name, password: password)
            var configuration = context.configuration
            configuration.username = session.username
            configuration.token = session.token
            do {
                try context.configurationFile.save(configuration)
            } catch {
                // A session whose token nobody kept is closed again, not left open until it expires.
                var api = context.api
                api.token = session.token
                try? await api.logOut()
                throw error
            }
            Console.writeOutput("Logged in as \(session.username).\n")
        }
    }
}
