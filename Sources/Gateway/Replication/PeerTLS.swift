import AsyncHTTPClient
import NIOSSL

/// How this replica calls its peers over HTTPS: the CA their certificates must chain to
/// (`--peer-ca`), and optionally the client certificate it shows them (`--peer-client-cert`,
/// `--peer-client-key`). Every client that calls a peer is configured from this one value.
public struct PeerTLS: Sendable {
    /// Nil: the system's trusted CAs.
    public var caFile: String?
    public var clientCertificateFile: String?
    public var clientKeyFile: String?

    public init(caFile: String?, clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }

    /// Reads the files now, so a missing or malformed one stops the replica at start.
    public func clientConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
        if let clientCertificateFile, let clientKeyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertificateFile).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKeyFile, format: .pem))
        }
        return tls
    }
}

extension HTTPClient.Configuration {
    /// Peer calls use `tls` for `https` URLs; nil leaves the default (plain HTTP peers).
    mutating func usePeerTLS(_ tls: TLSConfiguration?) {
        if let tls { tlsConfiguration = tls }
    }
}
