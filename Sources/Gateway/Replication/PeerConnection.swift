import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One keep-alive HTTP/1.1 connection to a peer, for the Raft messages of its `PeerLink`: one
/// request at a time (the link sends its next batch once the answer is in), written with one
/// flush, on the transport's event loop. A general HTTP client cost the leader more CPU per
/// send than anything else at low load (a pool, a state machine and URL parsing per request);
/// this one does what the link needs and no more (issue 13, cut 4). TLS is NIOSSL's, verified
/// as the HTTP client did: the chain always, the host name when the URL names one.
final class PeerConnection: @unchecked Sendable {
    struct Answer {
        var status: Int
        var body: ByteBuffer
    }

    let eventLoop: any EventLoop
    let host: String
    let port: Int
    let path: String
    private let headers: HTTPHeaders
    private let sslContext: NIOSSLContext?
    private let maxAnswerBytes: Int
    /// Touched on `eventLoop` only.
    private var channel: (any Channel)?

    /// `url` is the peer's endpoint (scheme, host, port and path); `headers` go with every request.
    init(
        url: String, headers: [(String, String)], tls: TLSConfiguration?, eventLoop: any EventLoop, maxAnswerBytes: Int
    ) throws {
        guard let components = URLComponents(string: url), let named = components.host, !named.isEmpty,
              let scheme = components.scheme, scheme == "http" || scheme == "https"
        else { throw PeerConnectionError.badURL(url) }
        // An IPv6 address comes in brackets, which name no host to connect to.
        let host = named.hasPrefix("[") && named.hasSuffix("]") ? String(named.dropFirst().dropLast()) : named
        self.eventLoop = eventLoop
        self.host = host
        port = components.port ?? (scheme == "https" ? 443 : 80)
        path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        var fixed = HTTPHeaders(headers)
        let hostField = host.contains(":") ? "[\(host)]" : host
        fixed.add(name: "Host", value: components.port.map { "\(hostField):\($0)" } ?? hostField)
        self.headers = fixed
        sslContext = scheme == "https" ? try NIOSSLContext(configuration: tls ?? .makeClientConfiguration()) : nil
        self.maxAnswerBytes = maxAnswerBytes
    }

    /// Posts `body`; the answer, or a failure when the peer cannot be reached, closes the
    /// connection, or does not answer within `timeout` (the connection is then dropped).
    func post(_ body: ByteBuffer, timeout: TimeAmount) -> EventLoopFuture<Answer> {
        eventLoop.flatSubmit { self.postOnLoop(body, timeout: timeout) }
    }

    func close() {
        eventLoop.execute {
            self.channel?.close(promise: nil)
            self.channel = nil
        }
    }

    private func postOnLoop(_ body: ByteBuffer, timeout: TimeAmount) -> EventLoopFuture<Answer> {
        let promise = eventLoop.makePromise(of: Answer.self)
        let deadline = eventLoop.scheduleTask(in: timeout) { [self] in
            // A peer that stopped answering: drop the connection, and the answer with it.
            channel?.close(promise: nil)
            channel = nil
            promise.fail(PeerConnectionError.timedOut)
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        connected().whenComplete { [self] result in
            switch result {
            case .failure(let error):
                promise.fail(error)
            case .success(let channel):
                do {
                    try channel.pipeline.syncOperations.handler(type: AnswerHandler.self).expect(promise)
                } catch {
                    return promise.fail(error)
                }
                var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
                head.headers.add(name: "Content-Length", value: String(body.readableBytes))
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
                // A failed write closes the channel, which fails the answer (AnswerHandler).
                channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { _ in channel.close(promise: nil) }
            }
        }
        return promise.futureResult
    }

    /// The open connection, or a new one.
    private func connected() -> EventLoopFuture<any Channel> {
        if let channel, channel.isActive { return eventLoop.makeSucceededFuture(channel) }
        channel = nil
        let (sslContext, host, maxAnswerBytes) = (sslContext, host, maxAnswerBytes)
        // SNI and name checks need a name; an IP address is checked through the chain alone.
        let serverName = SocketAddressCheck.isIPAddress(host) ? nil : host
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(500))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(AnswerHandler(maxBodyBytes: maxAnswerBytes))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(host: host, port: port)
            .map { [self] channel in
                self.channel = channel
                return channel
            }
    }
}

enum PeerConnectionError: Error {
    case badURL(String)
    case timedOut
    case closed
    case answerTooLarge
}

enum SocketAddressCheck {
    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// Collects the answer to the one request in flight on its connection.
private final class AnswerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let maxBodyBytes: Int
    private var pending: EventLoopPromise<PeerConnection.Answer>?
    private var status = 0
    private var body = ByteBuffer()

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    func expect(_ promise: EventLoopPromise<PeerConnection.Answer>) {
        fail(PeerConnectionError.closed)
        pending = promise
        status = 0
        body.clear()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(var part):
            guard body.readableBytes + part.readableBytes <= maxBodyBytes else {
                fail(PeerConnectionError.answerTooLarge)
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&part)
        case .end:
            let promise = pending
            pending = nil
            promise?.succeed(PeerConnection.Answer(status: status, body: body))
            body = ByteBuffer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(PeerConnectionError.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    private func fail(_ error: any Error) {
        let promise = pending
        pending = nil
        promise?.fail(error)
    }
}
