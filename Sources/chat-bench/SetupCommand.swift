import ArgumentParser

/// `chat-bench setup`: creates a sender and its recipients and prints their tokens, for wrk.
struct SetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup", abstract: "Create a sender and recipients; print their usernames and tokens.")

    @Option(help: "Any replica's base URL; writes follow 307 to the leader.")
    var url: String

    @Option(help: "How many recipient accounts to create.")
    var recipients: Int = 1

    struct Output: Encodable {
        var sender: ChatUser
        var recipients: [ChatUser]
    }

    func run() async throws {
        let http = BenchHTTP(connections: 4)
        do {
            let sender = try await ChatUsers.create(http, base: url, prefix: "s", count: 1)[0]
            let recipients = try await ChatUsers.create(http, base: url, prefix: "r", count: recipients)
            try printJSON(Output(sender: sender, recipients: recipients))
        } catch {
            await http.shutdown()
            throw error
        }
        await http.shutdown()
    }
}
