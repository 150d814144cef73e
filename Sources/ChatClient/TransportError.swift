/// Why a transport got no response from a replica.
public enum TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The connection could not be made, for example because it was refused.
    case connectionFailed(String)
    /// No complete response arrived in time.
    case timedOut
    /// Anything else that went wrong between sending and receiving.
    case failed(String)
    /// The replica's TLS certificate could not be verified (an untrusted CA, a name that does
    /// not match, an expired certificate): asking it again cannot help.
    case untrustedCertificate(String)

    public var description: String {
        switch self {
        case .connectionFailed(let reason):
            "could not connect (\(reason))"
        case .timedOut:
            "timed out"
        case .failed(let reason):
            "request failed (\(reason))"
        case .untrustedCertificate(let reason):
            "its TLS certificate cannot be verified (\(reason))"
        }
    }
}
