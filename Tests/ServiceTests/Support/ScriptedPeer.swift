import Foundation
import Synchronization

/// A stand-in for a replica on a loopback port: it answers `GET /v1/cluster` with the view it
/// is given (which may be changed while it runs) and counts those calls, and, when given an
/// answer to adding a member, `POST /v1/cluster/members` with `201` and that answer; other
/// requests given a route (`route(_:status:body:)`, by method and target) get its answer, and
/// anything else gets `503`. Every answer closes its connection.
final class ScriptedPeer: Sendable {
    let port: Int
    private let listener: Int32
    private let addAnswer: String?
    private let state: Mutex<(view: String, clusterCalls: Int)>
    private let routes = Mutex<[String: (status: String, body: String, calls: Int)]>([:])
    private let isStopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)

    init(port: Int, view: String, addAnswer: String? = nil) throws {
        self.port = port
        self.addAnswer = addAnswer
        state = Mutex((view, 0))
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw TestFailure("socket() failed") }
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard bound, listen(listener, 64) == 0 else {
            close(listener)
            throw TestFailure("cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        self.listener = listener
        let thread = Thread { [self] in serve() }
        thread.name = "scripted-peer-\(port)"
        thread.start()
    }

    /// How many times it was asked for its view of the cluster.
    var clusterCalls: Int { state.withLock { $0.clusterCalls } }

    func answer(with view: String) { state.withLock { $0.view = view } }

    /// Answers `method target` (as in the request line, such as `GET /internal/identity?asker=4`).
    func route(_ request: String, status: String, body: String) {
        routes.withLock { $0[request] = (status, body, $0[request]?.calls ?? 0) }
    }

    /// How many times `method target` was asked.
    func calls(to request: String) -> Int { routes.withLock { $0[request]?.calls ?? 0 } }

    /// Stops accepting and closes the port, so that a replica may listen there again.
    func stop() {
        let wasStopped = isStopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !wasStopped else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        _ = finished.wait(timeout: .now() + 5)
    }

    private func serve() {
        defer {
            close(listener)
            finished.signal()
        }
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            respond(on: connection)
            close(connection)
        }
    }

    private func respond(on connection: Int32) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.holdsAHead && request.count < 65536 {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { return }
            request += buffer[..<count]
        }
        let (status, body): (String, String)
        if request.starts(with: Array("GET /v1/cluster ".utf8)) {
            (status, body) = ("200 OK", state.withLock { $0.clusterCalls += 1; return $0.view })
        } else if let addAnswer, request.starts(with: Array("POST /v1/cluster/members ".utf8)) {
            (status, body) = ("201 Created", addAnswer)
        } else if let routed = routes.withLock({ routes -> (String, String)? in
            guard let key = routes.keys.first(where: { request.starts(with: Array("\($0) ".utf8)) }) else { return nil }
            routes[key]!.calls += 1
            return (routes[key]!.status, routes[key]!.body)
        }) {
            (status, body) = routed
        } else {
            (status, body) = ("503 Service Unavailable", "{}")
        }
        let answer = Array("""
            HTTP/1.1 \(status)\r
            Content-Type: application/json\r
            Content-Length: \(body.utf8.count)\r
            Connection: close\r
            \r
            \(body)
            """.utf8)
        _ = answer.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
    }
}

extension Array where Element == UInt8 {
    /// Whether the request's head has arrived whole (a body may follow it).
    fileprivate var holdsAHead: Bool {
        let end = Array("\r\n\r\n".utf8)
        return count >= end.count && (0...(count - end.count)).contains { self[$0..<($0 + end.count)].elementsEqual(end) }
    }
}
