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
        func read(_ path: String) throws -> String {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else {
                throw ServingTLSError.unreadable(path)
            }
            return text
        }
        return HTTPServer.TLS(
            certificateChain: try read(certificateFile), privateKey: try read(keyFile),
            clientCA: try clientCAFile.map(read))
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
