import AsyncHTTPClient
import Foundation
import NIOSSL

/// Throwaway CAs with a certificate per replica id (1...9), made once per test run by
/// `scripts/tls-certs.sh`: `main` for TLS clusters, the others to show what is refused or
/// what a SIGHUP picks up.
struct TestCertificates: Sendable {
    static let main = TestCertificates(name: "main")
    /// A CA no replica trusts.
    static let other = TestCertificates(name: "other")
    /// A CA a reloaded certificate comes from.
    static let renewed = TestCertificates(name: "renewed")

    let directory: URL

    var ca: String { directory.appendingPathComponent("ca.pem").path }
    func certificate(_ id: Int) -> String { directory.appendingPathComponent("replica-\(id).pem").path }
    func key(_ id: Int) -> String { directory.appendingPathComponent("replica-\(id)-key.pem").path }

    private init(name: String) {
        directory = TemporaryDirectory.make().appendingPathComponent(name)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/tls-certs.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, directory.path, "9"]
        try? process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "scripts/tls-certs.sh failed: is openssl installed?")
    }

    /// Serve HTTPS with replica `id`'s certificate and call peers with mutual TLS.
    func mutualTLSArguments(for id: Int) -> [String] {
        [
            "--tls-cert", certificate(id), "--tls-key", key(id), "--peer-ca", ca,
            "--peer-client-cert", certificate(id), "--peer-client-key", key(id), "--peer-verify-client",
        ]
    }

    /// A client configuration that trusts this CA only.
    func clientTLS() -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates((try? NIOSSLCertificate.fromPEMFile(ca)) ?? [])
        return tls
    }
}
