import Foundation
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

    /// Reads the files now, so a missing, malformed, expired or mismatched one stops the replica
    /// at start, named with its flag, rather than failing every call to a peer later.
    public func clientConfiguration(at now: Date = Date()) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            tls.trustRoots = .certificates(try Self.certificates(in: caFile, flag: "--peer-ca"))
            // Checked on its own, so that a failure below is the key's.
            do { _ = try NIOSSLContext(configuration: tls) } catch { throw PeerTLSError.badCertificates(flag: "--peer-ca", path: caFile) }
        }
        if let clientCertificateFile, let clientKeyFile {
            let chain = try Self.certificates(in: clientCertificateFile, flag: "--peer-client-cert")
            let notAfter = Date(timeIntervalSince1970: TimeInterval(chain[0].notValidAfter))
            if now > notAfter { throw ServingTLSError.expired(clientCertificateFile, notAfter) }
            let notBefore = Date(timeIntervalSince1970: TimeInterval(chain[0].notValidBefore))
            if now < notBefore - ServingTLS.clockSkewAllowed { throw ServingTLSError.notYetValid(clientCertificateFile, notBefore) }
            tls.certificateChain = chain.map { .certificate($0) }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKeyFile, format: .pem))
                // Only a context checks that the key is the certificate's.
                _ = try NIOSSLContext(configuration: tls)
            } catch {
                throw PeerTLSError.badKey(flag: "--peer-client-key", path: clientKeyFile, certificate: clientCertificateFile)
            }
        }
        return tls
    }

    private static func certificates(in path: String, flag: String) throws -> [NIOSSLCertificate] {
        guard let certificates = try? NIOSSLCertificate.fromPEMFile(path), !certificates.isEmpty else {
            throw PeerTLSError.badCertificates(flag: flag, path: path)
        }
        return certificates
    }
}

public enum PeerTLSError: Error, CustomStringConvertible {
    case badCertificates(flag: String, path: String)
    case badKey(flag: String, path: String, certificate: String)

    public var description: String {
        switch self {
        case .badCertificates(let flag, let path): "\(flag) \(path): cannot read PEM certificates from it"
        case .badKey(let flag, let path, let certificate):
            "\(flag) \(path): not a readable PEM private key, or not the key of the certificate in \(certificate)"
        }
    }
}

extension HTTPClient.Configuration {
    /// Peer calls use `tls` for `https` URLs; nil leaves the default (plain HTTP peers).
    mutating func usePeerTLS(_ tls: TLSConfiguration?) {
        if let tls { tlsConfiguration = tls }
    }
}
