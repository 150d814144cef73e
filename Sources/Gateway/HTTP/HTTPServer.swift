import CMicroHTTPD
import Foundation
import Logging
import Synchronization

/// The HTTP server over libmicrohttpd: one internal epoll thread, connections suspended
/// while their answer is computed elsewhere, never a thread blocked per waiting request.
///
/// This is the only file that sees libmicrohttpd's C types.
public final class HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var bindAddress: String
        public var port: UInt16
        public var connectionLimit: Int = 15_000
        /// Idle keep-alive connections are closed after this many seconds.
        public var idleTimeoutSeconds: Int = 90
        /// Per-connection memory pool, which holds the request line and headers (a request whose
        /// headers do not fit is refused) and the response headers. Small, so thousands of
        /// woken long-polls stay cheap: 8 KiB measured 14.1 KiB per long-poll at peak, 4 KiB 10.1.
        public var connectionMemoryLimit: Int = 4 * 1024
        public var maxBodyBytes: Int = 256 * 1024
        /// Peer traffic under `/internal/` carries batches of log entries and snapshot chunks.
        public var maxInternalBodyBytes: Int = 64 * 1024 * 1024
        /// HTTPS instead of HTTP, when set.
        public var tls: TLS?

        public init(bindAddress: String, port: UInt16) {
            self.bindAddress = bindAddress
            self.port = port
        }
    }

    /// HTTPS settings. The certificate is not among them: `installCertificate` must have
    /// succeeded before `start`, and may run again at any time (SIGHUP).
    public struct TLS: Sendable {
        /// A PEM CA: requests under `/internal/` must come with a client certificate it signed;
        /// other clients are asked for none they must give.
        public var clientCA: String?

        public init(clientCA: String? = nil) {
            self.clientCA = clientCA
        }
    }

    let configuration: Configuration
    let handler: any HTTPRequestHandler
    let logger: Logger
    /// libmicrohttpd's messages, each at most once per 10 s.
    let libraryLogLines = RepeatedLogLines()
    private let daemon: Mutex<DaemonHandle?> = Mutex(nil)
    let suspended = SuspendedConnections()

    public init(configuration: Configuration, handler: any HTTPRequestHandler, logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
    }

    /// Starts listening; returns the bound port.
    public func start() throws -> UInt16 {
        let context = Unmanaged.passUnretained(self).toOpaque()
        // MHD keeps this pointer for as long as the daemon runs: freed only after it stops.
        let clientCA = configuration.tls?.clientCA.map { strdup($0) } ?? nil
        let started: OpaquePointer? = configuration.bindAddress.withCString { address in
            var settings = chat_mhd_settings(
                bind_address: address,
                port: configuration.port,
                connection_limit: UInt32(configuration.connectionLimit),
                connection_timeout_seconds: UInt32(configuration.idleTimeoutSeconds),
                connection_memory_limit: configuration.connectionMemoryLimit,
                handler: accessHandler,
                handler_context: context,
                completed: requestCompleted,
                completed_context: context,
                use_tls: configuration.tls == nil ? 0 : 1,
                client_ca_pem: clientCA,
                log: logMessage,
                log_context: context)
            return chat_mhd_start(&settings)
        }
        guard let started else {
            throw HTTPServerError.cannotListen(address: configuration.bindAddress, port: configuration.port)
        }
        let handle = DaemonHandle(pointer: started, clientCA: clientCA)
        daemon.withLock { $0 = handle }
        suspended.departures.start { [suspended] ticket in suspended.clientLeft(ticket) }
        return chat_mhd_bound_port(started)
    }

    /// Makes `chain` and `privateKey` the certificate every new TLS handshake presents, without
    /// touching open connections (SIGHUP). Throws, keeping the old ones, when they do not parse
    /// or do not belong together.
    public static func installCertificate(chain: String, privateKey: String) throws {
        let result = chat_tls_install(chain, privateKey)
        guard result == 0 else {
            throw HTTPServerError.badCertificate(String(cString: chat_tls_error(result)))
        }
    }

    /// Answers every suspended request with 503, waits (briefly) until the epoll thread has
    /// queued those answers, then stops the daemon.
    public func stop() {
        suspended.departures.stop()
        suspended.resumeAll(with: APIError.shuttingDown.response)
        let deadline = ContinuousClock.now + .seconds(2)
        while suspended.unqueuedReplies > 0 && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.002)
        }
        guard let running = daemon.withLock({ current -> DaemonHandle? in
            defer { current = nil }
            return current
        }) else { return }
        MHD_stop_daemon(running.pointer)
        free(running.clientCA)
    }

    /// Called on the epoll thread once a request's body is complete.
    ///
    /// libmicrohttpd's threading rules: only the epoll thread queues a response. An answer
    /// computed elsewhere is left in the request's `PendingReply` and the connection resumed;
    /// MHD then calls the access handler again, on the epoll thread, which queues it.
    fileprivate func dispatch(_ request: HTTPRequest, on connection: OpaquePointer, progress: RequestInProgress) {
        switch handler.handle(request) {
        case .now(let response):
            Self.queue(response, on: connection, logger: logger)
        case .later(let work):
            let ticket = suspend(connection, progress: progress)
            Task {
                let response = await work()
                self.suspended.resume(ticket, making: { response })
            }
        case .deferred(let start):
            let ticket = suspend(connection, progress: progress)
            start(HTTPResponder(
                { [suspended] in suspended.resume(ticket, making: $0) },
                whenClientLeaves: { [suspended] in suspended.whenClientLeaves(ticket, $0) }))
        }
    }

    private func suspend(_ connection: OpaquePointer, progress: RequestInProgress) -> Int {
        let reply = PendingReply()
        progress.pendingReply = reply
        MHD_suspend_connection(connection)
        return suspended.add(SuspendedConnection(pointer: connection, reply: reply, socket: chat_mhd_connection_fd(connection)))
    }

    /// Queues `response` on `connection`: on the epoll thread only. A response MHD refuses
    /// (the connection broke meanwhile) is logged; MHD closes such a connection itself.
    static func queue(_ response: HTTPResponse, on connection: OpaquePointer, logger: Logger) {
        let mhdResponse = response.body.withUnsafeBytes { bytes in
            MHD_create_response_from_buffer(
                bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
        }
        guard let mhdResponse else {
            logger.error("could not create a response of \(response.body.count) bytes; the connection will close")
            return
        }
        for header in response.headers {
            MHD_add_response_header(mhdResponse, header.name, header.value)
        }
        if MHD_queue_response(connection, UInt32(response.status), mhdResponse) != .YES {
            logger.debug("a \(response.status) response could not be queued; the connection will close")
        }
        MHD_destroy_response(mhdResponse)
    }
}

extension HTTPServer {
    /// A path with an empty segment in the middle (`//`), or a `.` or `..` segment, is refused:
    /// every check on a path's prefix (peer calls under `/internal/`) sees the path the
    /// router matches.
    static func pathRefusal(_ path: String) -> HTTPResponse? {
        isClean(path) ? nil : APIError(
            status: 400, code: "invalid_path", message: "A path has no empty, . or .. segments.").response
    }

    /// The path of a request target: an absolute-form target (`http://host/path`, which RFC 9112
    /// §3.2.2 says a server must accept) loses its scheme and authority; anything else is kept.
    static func originForm(of target: String) -> String {
        guard target.utf8.first != UInt8(ascii: "/") else { return target }
        for scheme in ["http://", "https://"] {
            guard target.utf8.prefix(scheme.utf8.count).equalsIgnoringASCIICase(scheme) else { continue }
            let rest = target.utf8.dropFirst(scheme.utf8.count)
            guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else { return "/" }
            return String(target[slash...])
        }
        return target
    }

    /// Where a request's body ends must be beyond doubt, or what follows it on the connection
    /// could be read as a request of its own (request smuggling, RFC 9112 §6.1, §6.3, §11.2):
    /// Content-Length given twice with different values, or beside Transfer-Encoding (which no
    /// sender may do), is a 400, and a transfer coding other than plain `chunked` a 501
    /// (libmicrohttpd waited for such a body until the idle timeout). Either answer, given
    /// before the body is read, closes the connection.
    static func framingRefusal(_ headers: [(name: String, value: String)]) -> HTTPResponse? {
        var lengths = Set<Substring>()
        var isChunked = false
        for header in headers {
            if header.name.utf8.equalsIgnoringASCIICase("content-length") {
                lengths.insert(header.value.trimmingBlanks)
            } else if header.name.utf8.equalsIgnoringASCIICase("transfer-encoding") {
                guard header.value.trimmingBlanks.utf8.equalsIgnoringASCIICase("chunked") else {
                    return APIError(
                        status: 501, code: "not_implemented",
                        message: "The only transfer coding taken is chunked; \(header.value) is not.").response
                }
                isChunked = true
            }
        }
        guard lengths.count <= 1 else {
            return APIError(
                status: 400, code: "invalid_request", message: "Content-Length is given more than once, with different values.")
                .response
        }
        guard !(isChunked && !lengths.isEmpty) else {
            return APIError(
                status: 400, code: "invalid_request", message: "A body has Content-Length or Transfer-Encoding, not both.")
                .response
        }
        return nil
    }

    /// An HTTP/1.1 request names its host once (RFC 9112 §3.2): without it, or with two, it is a
    /// 400. Proxies and virtual hosts route by it, and two could be read differently by each.
    static func hostRefusal(isHTTP11: Bool, _ headers: [(name: String, value: String)]) -> HTTPResponse? {
        var hosts = 0
        for header in headers where header.name.utf8.equalsIgnoringASCIICase("host") { hosts += 1 }
        if hosts == 0 && isHTTP11 {
            return APIError(status: 400, code: "invalid_request", message: "An HTTP/1.1 request needs a Host header.").response
        }
        guard hosts <= 1 else {
            return APIError(status: 400, code: "invalid_request", message: "The Host header is given more than once.").response
        }
        return nil
    }

    /// Read byte by byte, with nothing allocated: it runs for every request (issue 13).
    private static func isClean(_ path: String) -> Bool {
        let bytes = path.utf8
        guard bytes.first == UInt8(ascii: "/") else { return false }
        // The segment being read: its length, and whether it is dots only.
        var length = 0
        var onlyDots = true
        var isDotSegment: Bool { onlyDots && (length == 1 || length == 2) }
        for byte in bytes.dropFirst() {
            if byte == UInt8(ascii: "/") {
                // Only the last segment may be empty (a trailing slash).
                if length == 0 || isDotSegment { return false }
                length = 0
                onlyDots = true
            } else {
                length += 1
                onlyDots = onlyDots && byte == UInt8(ascii: ".")
            }
        }
        return !isDotSegment
    }

    /// With a client CA, peer paths need a verified client certificate; nothing else does.
    fileprivate func certificateRefusal(path: String, connection: OpaquePointer) -> HTTPResponse? {
        guard configuration.tls?.clientCA != nil, path.hasPrefix("/internal/"),
            chat_mhd_client_verified(connection) == 0
        else { return nil }
        return APIError(
            status: 403, code: "client_certificate_required",
            message: "Calls under /internal/ need a client certificate signed by the peer CA.").response
    }
}

/// The answer to a suspended request, handed from the thread that decided it to the epoll
/// thread, which makes and queues it once MHD calls the access handler for the resumed connection.
final class PendingReply: Sendable {
    private let response = Mutex<HTTPResponder.MakeResponse?>(nil)

    func set(_ value: @escaping HTTPResponder.MakeResponse) { response.withLock { $0 = value } }

    func take() -> HTTPResponder.MakeResponse? {
        response.withLock { current in
            defer { current = nil }
            return current
        }
    }
}

public enum HTTPServerError: Error, CustomStringConvertible {
    case cannotListen(address: String, port: UInt16)
    case badCertificate(String)

    public var description: String {
        switch self {
        case .cannotListen(let address, let port): "cannot listen on \(address):\(port)"
        case .badCertificate(let reason): "the TLS certificate or key cannot be used: \(reason)"
        }
    }
}

/// The running daemon; only `start` and `stop` touch it.
struct DaemonHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The client CA handed to MHD, owned until the daemon stops.
    let clientCA: UnsafeMutablePointer<CChar>?
}

/// A connection MHD has suspended; it must be resumed exactly once.
struct SuspendedConnection: @unchecked Sendable {
    let pointer: OpaquePointer
    let reply: PendingReply
    /// Its socket, to notice the client leaving; -1 if MHD did not tell.
    let socket: Int32
    /// Called once if the client leaves while the connection is suspended.
    var whenClientLeaves: (@Sendable () -> Void)?
}

/// Every suspended connection, so each is resumed exactly once: by its answer, or by shutdown.
final class SuspendedConnections: Sendable {
    private let state = Mutex<(next: Int, connections: [Int: SuspendedConnection])>((0, [:]))
    /// Resumed connections whose answer the epoll thread has not queued yet.
    private let unqueued = Mutex(0)
    let departures = ClientDepartures()

    var unqueuedReplies: Int { unqueued.withLock { $0 } }

    /// The epoll thread queued a resumed connection's answer.
    func replyQueued() { unqueued.withLock { $0 -= 1 } }

    func add(_ connection: SuspendedConnection) -> Int {
        state.withLock { state in
            state.next += 1
            state.connections[state.next] = connection
            return state.next
        }
    }

    var count: Int { state.withLock { $0.connections.count } }

    /// Calls `action` once if the client of the suspended connection `ticket` leaves before it
    /// is answered. The socket is watched from here on (a client already gone is reported at
    /// once): it stays open while the connection is suspended, since only a resumed connection
    /// is closed.
    func whenClientLeaves(_ ticket: Int, _ action: @escaping @Sendable () -> Void) {
        state.withLock { state in
            guard let socket = state.connections[ticket]?.socket else { return }
            state.connections[ticket]?.whenClientLeaves = action
            departures.watch(socket: socket, tag: ticket)
        }
    }

    /// The client of `ticket` left (reported by `departures`); nothing if it was answered meanwhile.
    func clientLeft(_ ticket: Int) {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            defer { state.connections[ticket]?.whenClientLeaves = nil }
            return state.connections[ticket]?.whenClientLeaves
        }
        action?()
    }

    /// Leaves the making of the response to the epoll thread and resumes the connection, once
    /// per ticket.
    func resume(_ ticket: Int, making makeResponse: @escaping HTTPResponder.MakeResponse) {
        guard let connection = state.withLock({ $0.connections.removeValue(forKey: ticket) }) else { return }
        resume(connection, making: makeResponse)
    }

    func resumeAll(with response: HTTPResponse) {
        let all = state.withLock { state in
            defer { state.connections.removeAll() }
            return Array(state.connections.values)
        }
        for connection in all {
            resume(connection, making: { response })
        }
    }

    private func resume(_ connection: SuspendedConnection, making makeResponse: @escaping HTTPResponder.MakeResponse) {
        connection.reply.set(makeResponse)
        unqueued.withLock { $0 += 1 }
        MHD_resume_connection(connection.pointer)
    }
}

/// Notices clients that close their connection while their request is suspended.
///
/// libmicrohttpd stops watching a connection's socket while it is suspended, so a long-poll
/// whose client went away would otherwise hold its connection, its slot under the connection
/// limit and its waiter until the wait ran out (up to a minute): a client that times out and
/// asks again would leave one such ghost per try. A socket is watched only when a handler asks
/// (`HTTPResponder.whenClientLeaves`), with one `epoll_ctl`, and reported at most once per
/// watch, on a thread of its own that sleeps in `epoll_wait`.
final class ClientDepartures: Sendable {
    /// Reported when a watched client closed or shut down its side (`EPOLLRDHUP`), or its
    /// connection failed; the tag is the one given to `watch`.
    typealias Report = @Sendable (_ tag: Int) -> Void

    private let watcher: Int32
    /// Written once by `stop`, to end the thread's wait.
    private let stopSignal: Int32
    private let isRunning = Mutex(false)

    init() {
        var stopSignal: Int32 = -1
        watcher = chat_departures_create(&stopSignal)
        self.stopSignal = stopSignal
    }

    deinit {
        if watcher >= 0 {
            close(watcher)
            close(stopSignal)
        }
    }

    func start(reporting report: @escaping Report) {
        guard watcher >= 0, isRunning.withLock({ running in
            defer { running = true }
            return !running
        }) else { return }
        let thread = Thread { [self] in run(report) }
        thread.name = "client-departures"
        thread.start()
    }

    /// Ends the thread; watches made afterwards are never reported.
    func stop() {
        guard isRunning.withLock({ running in
            defer { running = false }
            return running
        }) else { return }
        var one: UInt64 = 1
        _ = write(stopSignal, &one, MemoryLayout<UInt64>.size)
    }

    /// Reports `tag` once the client of `socket` leaves (at once if it already has). The watch
    /// replaces an earlier one of the same socket (a keep-alive connection's previous request);
    /// a closed socket's watch ends with it. False if the socket cannot be watched.
    @discardableResult
    func watch(socket: Int32, tag: Int) -> Bool {
        guard watcher >= 0, socket >= 0 else { return false }
        return chat_departures_watch(watcher, socket, UInt64(tag)) == 0
    }

    private func run(_ report: Report) {
        var tags = [UInt64](repeating: 0, count: 64)
        while true {
            let count = chat_departures_wait(watcher, &tags, Int32(tags.count))
            guard count >= 0 else { return }
            for tag in tags.prefix(Int(count)) {
                if tag == UInt64.max {
                    var value: UInt64 = 0
                    _ = read(stopSignal, &value, MemoryLayout<UInt64>.size)
                    return
                }
                report(Int(tag))
            }
        }
    }
}

/// The body and headers of one request while it arrives. Touched on the epoll thread only.
private final class RequestInProgress {
    let maxBodyBytes: Int
    /// Method, path, query and headers, read once on the first call.
    let head: HTTPRequest
    var body: [UInt8] = []
    var isTooLarge = false
    var hasAnswered = false
    /// Set while the request is suspended: where its answer will be left.
    var pendingReply: PendingReply?

    init(maxBodyBytes: Int, head: HTTPRequest) {
        self.maxBodyBytes = maxBodyBytes
        self.head = head
    }
}

/// libmicrohttpd serves `HTTP/1.2` and later minor versions as 1.1.
private func isHTTP11OrLater(_ version: UnsafePointer<CChar>) -> Bool {
    strncmp(version, "HTTP/1.", 7) == 0 && strcmp(version, "HTTP/1.0") != 0
}

private let accessHandler: MHD_AccessHandlerCallback = {
    context, connection, url, method, version, uploadData, uploadDataSize, requestContext in
    guard let context, let connection, let requestContext, let uploadDataSize else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()

    // First call: the headers are in, no byte of the body is read. Allocate, and answer only a
    // refusal now: answering on this call costs the connection its keep-alive, and MHD accepts a
    // response during an upload only before the body begins.
    guard let existing = requestContext.pointee else {
        let path = HTTPServer.originForm(of: url.map { String(cString: $0) } ?? "/")
        let limit = path.hasPrefix("/internal/") ? server.configuration.maxInternalBodyBytes : server.configuration.maxBodyBytes
        let (head, headerPairs) = makeRequest(
            connection: connection, url: path, method: method.map { String(cString: $0) } ?? "GET", body: [])
        let progress = RequestInProgress(maxBodyBytes: limit, head: head)
        requestContext.pointee = Unmanaged.passRetained(progress).toOpaque()
        if let refusal = HTTPServer.framingRefusal(headerPairs)
            ?? HTTPServer.hostRefusal(isHTTP11: version.map { isHTTP11OrLater($0) } ?? false, headerPairs)
            ?? HTTPServer.pathRefusal(path)
            ?? server.certificateRefusal(path: path, connection: connection) ?? server.handler.screen(head) {
            progress.hasAnswered = true
            HTTPServer.queue(refusal, on: connection, logger: server.logger)
        }
        return .YES
    }
    let progress = Unmanaged<RequestInProgress>.fromOpaque(existing).takeUnretainedValue()
    if progress.hasAnswered {
        // Called again for a resumed connection: queue the answer left for it.
        if let reply = progress.pendingReply, let makeResponse = reply.take() {
            progress.pendingReply = nil
            HTTPServer.queue(makeResponse(), on: connection, logger: server.logger)
            server.suspended.replyQueued()
        }
        uploadDataSize.pointee = 0
        return .YES
    }
    if uploadDataSize.pointee > 0 {
        if !progress.isTooLarge, let uploadData {
            if progress.body.count + uploadDataSize.pointee > progress.maxBodyBytes {
                progress.isTooLarge = true
                progress.body = []
            } else {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: uploadDataSize.pointee) {
                    progress.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: uploadDataSize.pointee))
                }
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }
    progress.hasAnswered = true
    if progress.isTooLarge {
        HTTPServer.queue(APIError.payloadTooLarge(limit: progress.maxBodyBytes).response, on: connection, logger: server.logger)
        return .YES
    }
    var request = progress.head
    request.body = progress.body
    progress.body = []
    server.dispatch(request, on: connection, progress: progress)
    return .YES
}

private let requestCompleted: MHD_RequestCompletedCallback = { context, _, requestContext, _ in
    guard let requestContext, let existing = requestContext.pointee else { return }
    let progress = Unmanaged<RequestInProgress>.fromOpaque(existing)
    // A client that left while its request was suspended: its answer is never queued.
    if let context, progress.takeUnretainedValue().pendingReply?.take() != nil {
        Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue().suspended.replyQueued()
    }
    progress.release()
    requestContext.pointee = nil
}

/// libmicrohttpd's error messages (a request refused for its size, a connection limit reached,
/// a failed TLS handshake) go to the replica's log, dated and labelled like every other line.
/// Most are about one client, hence info; the default level still shows them, each line at
/// most once per 10 s.
private let logMessage: MHD_LogCallback = { context, format, arguments in
    guard let context, let format, let arguments else { return }
    var text = [CChar](repeating: 0, count: 512)
    _ = vsnprintf(&text, text.count, format, arguments)
    let message = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()
    guard let line = server.libraryLogLines.admit(message) else { return }
    server.logger.info("libmicrohttpd: \(line)")
}

/// Collects name/value pairs from MHD's per-connection tables.
private final class PairCollector {
    var pairs: [(name: String, value: String)] = []
    var hasMalformedValue = false
    /// Names whose value was not valid UTF-8 (the pair itself is left out of `pairs`).
    var malformedNames: [String] = []
}

private let collectPair: MHD_KeyValueIterator = { context, _, key, value in
    guard let context, let key else { return .YES }
    let collector = Unmanaged<PairCollector>.fromOpaque(context).takeUnretainedValue()
    guard let name = String(validatingCString: key) else {
        collector.hasMalformedValue = true
        return .YES
    }
    if let value {
        guard let text = String(validatingCString: value) else {
            collector.hasMalformedValue = true
            collector.malformedNames.append(name)
            return .YES
        }
        collector.pairs.append((name, text))
    } else {
        collector.pairs.append((name, ""))
    }
    return .YES
}

private func collectPairs(_ connection: OpaquePointer, kind: MHD_ValueKind) -> PairCollector {
    let collector = PairCollector()
    withExtendedLifetime(collector) {
        _ = MHD_get_connection_values(connection, kind, collectPair, Unmanaged.passUnretained(collector).toOpaque())
    }
    return collector
}

/// The request, and every header as sent (the request's table keeps one value per name).
private func makeRequest(
    connection: OpaquePointer, url: String, method: String, body: [UInt8]
) -> (HTTPRequest, [(name: String, value: String)]) {
    let headers = collectPairs(connection, kind: .HEADER_KIND)
    let query = collectPairs(connection, kind: .GET_ARGUMENT_KIND)
    var headerTable: [String: String] = [:]
    for pair in headers.pairs {
        headerTable[pair.name.lowercased()] = pair.value
    }
    let request = HTTPRequest(
        method: method, path: url, query: query.pairs, headers: headerTable, body: body,
        hasMalformedQuery: query.hasMalformedValue, malformedHeaderNames: Set(headers.malformedNames.map { $0.lowercased() }))
    return (request, headers.pairs)
}
