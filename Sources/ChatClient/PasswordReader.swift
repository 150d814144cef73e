#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a password from the chosen ``PasswordSource``.
public enum PasswordReader {
    public static func read(from source: PasswordSource, prompt: String = "Password: ") throws -> String {
        switch source {
        case .environment(let password):
            return password
        case .standardInput:
            guard let line = readLine(strippingNewline: true) else {
                throw ChatClientError.passwordUnavailable("standard input is empty")
            }
            return line
        case .prompt:
            return try readWithoutEcho(prompt: prompt)
        }
    }

    /// Prints `prompt` to standard error and reads a line with the terminal's echo off.
    private static func readWithoutEcho(prompt: String) throws -> String {
        Console.writeError(prompt)
        var original = termios()
        let isTerminal = isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &original) == 0
        if isTerminal {
            var silent = original
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        }
        defer {
            if isTerminal {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &original)
                Console.writeError("\n")
            }
        }
        guard let line = readLine(strippingNewline: true) else {
            throw ChatClientError.passwordUnavailable("no password was typed")
        }
        return line
    }
}
