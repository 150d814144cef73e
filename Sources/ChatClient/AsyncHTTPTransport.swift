import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// The real ``HTTPTransport``, on AsyncHTTPClient.
///
/// It follows no redirects and does not retry failed connections itself:
/// both are ``FailoverClient``'s job. Call ``shutdown()`` before dropping it.
public final class AsyncHTTPTransport: HTTPTransport {
    /// The largest response body read; larger ones fail the request.
    public let responseSizeMaximum: Int

    private let client: HTTPClient

    /// `trustedCAFile`: verify `https` replicas against this PEM CA certificate instead of the
    /// system's trusted CAs (`--cacert`).
    public init(
        connectTimeout: Duration = .seconds(2), responseSizeMaximum: Int = 64 * 1024 * 1024,
        trustedCAFile: String? = nil
    ) throws {
        var configuration = HTTPClient.Configuration()
        if let trustedCAFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trustedCAFile))
            configuration.tlsConfiguration = tls
        }
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .milliseconds(Self.milliseconds(of: connectTimeout))
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.responseSizeMaximum = responseSizeMaximum
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func execute(_ request: TransportRequest, timeout: Duration) async throws -> TransportResponse {
        var outgoing = HTTPClientRequest(url: request.url.absoluteString)
        outgoing.method = .RAW(value: request.method.rawValue)
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) {
            outgoing.headers.add(name: name, value: value)
        }
        if let body = request.body {
            outgoing.body = .bytes(body)
        }
        do {
            let response = try await client.execute(outgoing, timeout: .milliseconds(Self.milliseconds(of: timeout)))
            let body = try await response.body.collect(upTo: responseSizeMaximum)
            var headers: [String: String] = [:]
            for header in response.headers {
                headers[header.name.lowercased()] = header.value
            }
            return TransportResponse(status: Int(response.status.code), headers: headers, body: Data(body.readableBytesView))
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as NIOSSLError {
            // Other handshake failures (a plain-HTTP replica, no common protocol) are the replica's.
            let description = String(describing: error)
            guard description.contains("CERTIFICATE_VERIFY_FAILED") else { throw TransportError.failed(description) }
            throw TransportError.untrustedCertificate("CERTIFICATE_VERIFY_FAILED: not signed by a CA this client trusts; see --cacert")
        } catch let error as NIOSSLExtraError where error == .failedToValidateHostname {
            throw TransportError.untrustedCertificate(String(describing: error))
        } catch let error as HTTPClientError {
            throw Self.transportError(for: error)
        } catch let error as IOError {
            // "connection refused", not NIO's "connection reset (error set): Connection refused (errno: 111)".
            throw TransportError.connectionFailed(String(cString: strerror(error.errnoCode)).lowercased())
        } catch {
            throw TransportError.connectionFailed(String(describing: error))
        }
    }

    private static func transportError(for error: HTTPClientError) -> TransportError {
        switch error {
        case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout:
            .timedOut
        case .cancelled:
            .failed("cancelled")
        default:
            .failed(String(describing: error))
        }
    }

    private static func milliseconds(of duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
