import Foundation

/// Everything that can go wrong in the chat client, beyond a server's own answer.
public enum ChatClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered with an error.
    case server(ServerError)
    /// No replica gave an answer before the failover policy's time ran out.
    case clusterUnavailable(attemptCount: Int, lastFailure: String)
    /// A response that is neither the expected success nor an error envelope.
    case unexpectedResponse(status: Int, detail: String)
    /// The replica list could not be parsed.
    case invalidReplicaList(String)
    /// The command needs a saved session, and there is none.
    case notLoggedIn
    /// The configuration file could not be read or written.
    case configurationFile(path: String, reason: String)
    /// No password could be read.
    case passwordUnavailable(String)
    /// Standard output could not be written (the reader closed the pipe, the disk is full).
    case outputFailed(String)

    public var description: String {
        switch self {
        case .server(let error):
            error.message
        case .clusterUnavailable(let attemptCount, let lastFailure):
            "No replica answered after \(attemptCount) \(attemptCount == 1 ? "attempt" : "attempts"); the last one: \(lastFailure.hasSuffix(".") ? String(lastFailure.dropLast()) : lastFailure)."
        case .unexpectedResponse(let status, let detail):
            "Unexpected response with status \(status): \(detail)"
        case .invalidReplicaList(let reason):
            "Invalid replica list: \(reason)"
        case .notLoggedIn:
            "Not logged in; run `chat login NAME` first."
        case .configurationFile(let path, let reason):
            "Configuration file \(path): \(reason)"
        case .passwordUnavailable(let reason):
            "No password: \(reason)"
        case .outputFailed(let reason):
            "cannot write to standard output (\(reason)); what was not written stays unacknowledged."
        }
    }
}
