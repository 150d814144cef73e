import ArgumentParser
import ChatClient

/// The `chat` command: a client for the replicated chat service.
@main
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "A client for the replicated chat service.",
        discussion: """
            Exit status: 0 on success, 1 when the service answered with an error \
            or could not be reached, 2 for a usage error.
            """,
        subcommands: [
            Register.self, Login.self, Send.self, Listen.self, Accounts.self, Logout.self, DeleteAccount.self,
            ClusterCommand.self,
        ]
    )

    /// Parses and runs a command, mapping its failure to `chat`'s exit statuses.
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot()
        } catch {
            ExitStatus.exit(afterParsingFailedWith: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            ExitStatus.exit(afterRunningFailedWith: error)
        }
    }
}
