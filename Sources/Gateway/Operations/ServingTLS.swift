import Foundation
import NIOSSL

/// The certificate and key files a replica serves HTTPS with, read at start and on SIGHUP.
public struct ServingTLS: Sendable {
    public var certificateFile: String
    public var keyFile: String
    /// `--peer-verify-client`: calls under `/internal/` need a client certificate from this CA.
    public var clientCAFile: String?

    public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
    }

    /// Reads the certificate chain and key and makes them the ones new handshakes present:
    /// at start, and again on SIGHUP.
    func installCertificate() throws {
        let chain = try Self.read(certificateFile)
        try checkValidity(of: chain, at: Date())
        try HTTPServer.installCertificate(chain: chain, privateKey: try Self.read(keyFile))
    }

    static let clockSkewAllowed: TimeInterval = 300

    /// Refuses a chain whose first certificate is outside its validity period at `now`: every
    /// client and peer would refuse it, so serving it would only break connections that work.
    /// A chain that does not parse is left to `installCertificate`, which says so.
    func checkValidity(of chain: String, at now: Date) throws {
        guard let leaf = try? NIOSSLCertificate.fromPEMBytes(Array(chain.utf8)).first else { return }
        let notBefore = Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore))
        let notAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        if now > notAfter { throw ServingTLSError.expired(certificateFile, notAfter) }
        // A certificate issued a moment ago on a machine whose clock runs ahead is not a mistake.
        if now < notBefore - Self.clockSkewAllowed { throw ServingTLSError.notYetValid(certificateFile, notBefore) }
    }

    /// The server's settings besides the certificate.
    func serverSettings() throws -> HTTPServer.TLS {
        HTTPServer.TLS(clientCA: try clientCAFile.map(Self.read))
    }

    private static func read(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else {
            throw ServingTLSError.unreadable(path)
        }
        return text
    }
}

public enum ServingTLSError: Error, CustomStringConvertible {
    case unreadable(String)
    case expired(String, Date)
    case notYetValid(String, Date)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read the PEM file \(path)"
        case .expired(let path, let end): "the certificate in \(path) expired on \(end.formatted(.iso8601))"
        case .notYetValid(let path, let start): "the certificate in \(path) is not valid before \(start.formatted(.iso8601))"
        }
    }
}
