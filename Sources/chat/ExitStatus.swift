import ArgumentParser
import ChatClient

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `chat`'s exit statuses: 0 success, 1 an error from or on the way to the
/// service, 2 a usage error.
enum ExitStatus {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2

    /// Exits after the command line could not be parsed, or asked for help.
    static func exit(afterParsingFailedWith error: any Error) -> Never {
        if Chat.exitCode(for: error) == .success {
            Console.writeOutput(Chat.fullMessage(for: error) + "\n")
            terminate(success)
        }
        Console.writeError(Chat.fullMessage(for: error) + "\n")
        terminate(usage)
    }

    /// Exits after a parsed command failed.
    static func exit(afterRunningFailedWith error: any Error) -> Never {
        if let error = error as? ChatClientError {
            Console.writeError("chat: \(error.description)\n")
            if case .invalidReplicaList = error {
                terminate(usage)
            }
            terminate(failure)
        }
        let code = Chat.exitCode(for: error)
        if code == .success {
            Console.writeOutput(Chat.fullMessage(for: error) + "\n")
            terminate(success)
        }
        let message = Chat.fullMessage(for: error)
        if !message.isEmpty {
            Console.writeError("chat: \(message)\n")
        }
        terminate(code == .validationFailure ? usage : code.rawValue)
    }

    private static func terminate(_ status: Int32) -> Never {
        #if canImport(Darwin)
            Darwin.exit(status)
        #elseif canImport(Musl)
            Musl.exit(status)
        #else
            Glibc.exit(status)
        #endif
    }
}
