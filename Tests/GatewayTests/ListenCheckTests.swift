import Foundation
import Testing
@testable import Gateway

/// Found by probing: `--join` added the replica, then its taken port stopped it, leaving a
/// member that nothing serves. The port is now checked before Raft starts.
@Suite struct ListenCheckTests {
    /// A socket listening on a free loopback port, and that port.
    static func listener() throws -> (socket: Int32, port: UInt16) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 4) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else { throw HTTPServerError.cannotListen(address: "127.0.0.1", port: 0) }
        return (listener, UInt16(bigEndian: address.sin_port))
    }

    @Test func aPortAnotherSocketListensOnIsTaken() throws {
        let (listener, port) = try Self.listener()
        defer { close(listener) }
        #expect(throws: HTTPServerError.self) { try ListenCheck.ensureFree(host: "127.0.0.1", port: port) }
        #expect(throws: HTTPServerError.self, "the wildcard address holds it too") { try ListenCheck.ensureFree(host: "0.0.0.0", port: port) }
    }

    @Test func aFreePortAndAHostNameArePassed() throws {
        let (listener, port) = try Self.listener()
        close(listener)
        try ListenCheck.ensureFree(host: "127.0.0.1", port: port)
        try ListenCheck.ensureFree(host: "localhost", port: port)
    }
}
