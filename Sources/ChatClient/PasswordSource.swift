/// Where `chat register` and `chat login` take the password from.
public enum PasswordSource: Sendable, Hashable {
    /// The first line of standard input (`--password-stdin`).
    case standardInput
    /// The `CHAT_PASSWORD` environment variable.
    case environment(String)
    /// A prompt on the terminal, without echo.
    case prompt

    /// The environment variable scripts can set instead of typing the password.
    public static let environmentVariable = "CHAT_PASSWORD"

    /// `--password-stdin` first, then `CHAT_PASSWORD`, then a prompt.
    public static func choose(readsStandardInput: Bool, environment: [String: String]) -> PasswordSource {
        if readsStandardInput {
            return .standardInput
        }
        if let password = environment[environmentVariable] {
            return .environment(password)
        }
        return .prompt
    }
}
