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
        var head = ResponseHead.parse(buffer)
        while head == nil {
            try fill()
            head = ResponseHead.parse(buffer)
        }
        guard case .complete(let status, let length, let location, let closes, let headLength)? = head else {
            throw BenchFailure("\(base) answered a bad status line: \(String(decoding: buffer.prefix(80), as: UTF8.self))")
        }
        while buffer.count < headLength + length { try fill() }
        let body = Array(buffer[headLength..<(headLength + length)])
        buffer.removeFirst(headLength + length)
        if closes { close() }
        return Reply(status: status, body: body, location: location)
    }
}

/// The head of an HTTP/1.1 answer, read from its bytes: the load generator reads one per send
/// and per delivered message on the cores it measures, and splitting the head into `String`
/// lines cost it about a quarter of its CPU.
enum ResponseHead {
    case complete(status: Int, contentLength: Int, location: String?, closes: Bool, headLength: Int)
    case malformed

    /// Nil while the head's blank line has not arrived.
    static func parse(_ bytes: [UInt8]) -> ResponseHead? {
        bytes.withUnsafeBufferPointer { parse($0) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> ResponseHead? {
        guard let end = blankLine(in: bytes) else { return nil }
        // "HTTP/1.1 201 Created": the status is the three digits after the first space.
        guard let space = bytes[..<end].firstIndex(of: UInt8(ascii: " ")), space + 4 <= end,
              let status = number(bytes[(space + 1)..<(space + 4)])
        else { return .malformed }
        var (length, location, closes) = (0, String?.none, false)
        var lineStart = (bytes[..<end].firstIndex(of: UInt8(ascii: "\n")) ?? end) + 1
        while lineStart < end {
            let lineEnd = bytes[lineStart..<end].firstIndex(of: UInt8(ascii: "\r")) ?? end
            if let colon = bytes[lineStart..<lineEnd].firstIndex(of: UInt8(ascii: ":")) {
                var valueStart = colon + 1
                while valueStart < lineEnd && bytes[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
                let name = bytes[lineStart..<colon], value = bytes[valueStart..<lineEnd]
                if equalsIgnoringCase(name, "content-length") {
                    length = number(value) ?? 0
                } else if equalsIgnoringCase(name, "location") {
                    location = String(decoding: value, as: UTF8.self)
                } else if equalsIgnoringCase(name, "connection") {
                    closes = equalsIgnoringCase(value, "close")
                }
            }
            lineStart = lineEnd + 2
        }
        return .complete(status: status, contentLength: length, location: location, closes: closes, headLength: end + 4)
    }

    /// Where "\r\n\r\n" starts.
    private static func blankLine(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    private static func number(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard (48...57).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }

    private static func equalsIgnoringCase(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return zip(bytes, UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount))
            .allSatisfy { byte, lower in ((65...90).contains(byte) ? byte | 0x20 : byte) == lower }
    }
}
