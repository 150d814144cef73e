import Foundation
import Testing

/// The C shim is a header, compiled into every Swift module that calls into it, and a release
/// build's cross-module optimisation can inline a caller into another module. A `static`
/// variable there becomes one copy per module: that once left GnuTLS reading an empty
/// certificate slot while another module's copy held the certificate, and every TLS handshake
/// of a release build failed (debug builds, which the other tests use, were fine).
@Suite struct ShimStateTests {
    @Test func theShimHeaderHasNoStaticVariables() throws {
        let header = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/CMicroHTTPD/shim.h")
        let lines = try String(contentsOf: header, encoding: .utf8).split(separator: "\n")
        let staticVariables = lines.filter { line in
            line.hasPrefix("static ") && !line.hasPrefix("static inline ")
        }
        #expect(staticVariables.isEmpty, "state in shim.h must be one weak symbol, not static: \(staticVariables)")
    }
}
