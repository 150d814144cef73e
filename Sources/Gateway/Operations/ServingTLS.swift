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

    func load() throws -> HTTPServer.TLS {
        let (chain, privateKey) = try loadCertificate()
        return HTTPServer.TLS(certificateChain: chain, privateKey: privateKey, clientCA: try clientCAFile.map(Self.read))
    }

    /// The certificate chain and key alone: what SIGHUP reads again.
    func loadCertificate() throws -> (chain: String, privateKey: String) {
        (try Self.read(certificateFile), try Self.read(keyFile))
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
