import ArgumentParser
import ChatClient

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an account.")

    @Argument(help: "The username: 1 to 32 of A-Z a-z 0-9 _ . -, not starting with . or -.")
    var name: String

    @OptionGroup var password: PasswordOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let password = try password.readPassword()
        try await CommandContext.run(cluster) { context in
            let account = try await context.api.register(username: name, password: password)
            Console.writeOutput("Registered \(account.username).\n")
        }
    }
}
