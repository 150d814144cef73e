import ArgumentParser
import ChatClient
import Foundation

/// How `register` and `login` get the password.
struct PasswordOptions: ParsableArguments {
    @Flag(help: "Read the password from the first line of standard input (else $CHAT_PASSWORD, else a prompt).")
    var passwordStdin = false

    func readPassword() throws -> String {
        let source = PasswordSource.choose(
            readsStandardInput: passwordStdin, environment: ProcessInfo.processInfo.environment)
        return try PasswordReader.read(from: source)
    }
}
