/// Sends one HTTP request and returns its response, without following redirects
/// and without retrying.
///
/// The failover logic in ``FailoverClient`` sits on top of this seam, so tests
/// can replace the network with a scripted transport.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and waits at most `timeout` for the whole response.
    ///
    /// - Throws: ``TransportError`` when no response arrived, or
    ///   `CancellationError` when the task was cancelled.
    func execute(_ request: TransportRequest, timeout: Duration) async throws -> TransportResponse
}
