import Foundation

/// Whether a listening address is free, asked before a replica changes anything elsewhere:
/// a replica that asks to join and then finds its port taken would leave a member behind that
/// nothing serves. The server's own bind still decides; this only fails early.
enum ListenCheck {
    /// Throws `cannotListen` when another socket listens on `host:port`. A host that is not a
    /// numeric address, and port 0, are left to the server.
    static func ensureFree(host: String, port: UInt16) throws(HTTPServerError) {
        guard port != 0 else { return }
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
        } else {
            return
        }
        let probe = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { return }
        defer { close(probe) }
        var on: Int32 = 1
        setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = family == AF_INET
            ? withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            : withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        if bound != 0 && errno == EADDRINUSE { throw .cannotListen(address: host, port: port) }
    }
}
