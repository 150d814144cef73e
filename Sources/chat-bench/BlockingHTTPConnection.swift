import Foundation

/// One keep-alive HTTP/1.1 connection over a blocking socket, for `http://` URLs only.
///
/// The delivery scenario measures replicas that share two cores with their load generator, so
/// the generator must cost as little as it can: a thread that blocks in `read` wakes once per
/// answer, where AsyncHTTPClient hops from its event loop to a task and back. It speaks just
/// what the service answers: `Content-Length` bodies, `Connection: close`, `Location`.
final class BlockingHTTPConnection {
    private(set) var base: String
    private let host: String
    private let port: UInt16
    private let timeoutMilliseconds: Int
    private var socket: Int32 = -1
    private var buffer: [UInt8] = []
    /// What one `recv` reads into, kept so a read allocates nothing.
    private var chunk = [UInt8](repeating: 0, count: 16_384)

    /// `base` is `http://host:port`.
    init(base: String, timeoutMilliseconds: Int) throws {
        guard let url = URLComponents(string: base), url.scheme == "http", let host = url.host, let port = url.port else {
            throw BenchFailure("\(base) is not an http://host:port URL")
        }
        (self.base, self.host, self.port, self.timeoutMilliseconds) = (base, host, UInt16(port), timeoutMilliseconds)
    }

    deinit { close() }

    func close() {
        if socket >= 0 { Glibc.close(socket) }
        socket = -1
        buffer = []
    }

    func get(_ target: String, token: String?) throws -> Reply {
        try exchange(method: "GET", target: target, body: nil, token: token)
    }

    func post(_ target: String, body: [UInt8], token: String?) throws -> Reply {
        try exchange(method: "POST", target: target, body: body, token: token)
    }

    /// One request and its whole answer; on any failure the connection is closed, and the next
    /// request opens a new one.
    private func exchange(method: String, target: String, body: [UInt8]?, token: String?) throws -> Reply {
        do {
            if socket < 0 { try connect() }
            var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
            if let token { head += "Authorization: Bearer \(token)\r\n" }
            if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
            head += "\r\n"
            try writeAll(Array(head.utf8) + (body ?? []))
            return try readReply()
        } catch {
            close()
            throw error
        }
    }

    private func connect() throws {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else {
            throw BenchFailure("cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchFailure("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard Glibc.connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw BenchFailure("connect to \(base): errno \(code)")
        }
        socket = descriptor
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw BenchFailure("send to \(base): errno \(errno)") }
            sent += count
        }
    }

    /// Reads more bytes into the buffer; fails on a closed connection or a timeout.
    private func fill() throws {
        let count = chunk.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw BenchFailure(count == 0 ? "\(base) closed the connection" : "recv from \(base): errno \(errno)") }
        buffer += chunk[0..<count]
    }

    private func readReply() throws -> Reply {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            headEnd = buffer.firstRange(of: separator)?.lowerBound
            if headEnd == nil { try fill() }
        }
        let lines = String(decoding: buffer[..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw BenchFailure("\(base) answered a bad status line: \(lines[0])")
        }
        var (length, location, closes) = (0, String?.none, false)
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-length": length = Int(value) ?? 0
            case "location": location = value
            case "connection": closes = value.lowercased() == "close"
            default: break
            }
        }
        let bodyStart = headEnd! + separator.count
        while buffer.count < bodyStart + length { try fill() }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        buffer.removeFirst(bodyStart + length)
        if closes { close() }
        return Reply(status: status, body: body, location: location)
    }
}
