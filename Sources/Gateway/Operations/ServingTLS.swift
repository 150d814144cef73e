import Foundation

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
        try HTTPServer.installCertificate(chain: try Self.read(certificateFile), privateKey: try Self.read(keyFile))
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

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read the PEM file \(path)"
        }
    }
}
