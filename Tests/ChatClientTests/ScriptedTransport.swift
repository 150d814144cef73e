import ChatClient
import Foundation
import Synchronization

/// A transport that answers from a script per replica instead of a network,
/// and records every request it was given.
final class ScriptedTransport: HTTPTransport {
    enum Step: Sendable {
        case respond(TransportResponse)
        case refuse
        case timeOut
        case presentUntrustedCertificate
    }

    struct Record: Sendable {
        var request: TransportRequest
        var timeout: Duration
    }

    private struct State {
        var steps: [String: [Step]]
        var records: [Record] = []
    }

    private let state: Mutex<State>
    private let clock: ManualRetryClock?

    /// `steps` maps `host:port` to the answers that replica gives, in order;
    /// a replica with no steps left refuses connections. A timeout advances
    /// `clock`, if given, by the attempt's timeout.
    init(_ steps: [String: [Step]], clock: ManualRetryClock? = nil) {
        self.state = Mutex(State(steps: steps))
        self.clock = clock
    }

    var records: [Record] {
        state.withLock { $0.records }
    }

    var requests: [TransportRequest] {
        records.map(\.request)
    }

    func execute(_ request: TransportRequest, timeout: Duration) async throws -> TransportResponse {
        let key = "\(request.url.host ?? ""):\(request.url.port ?? 80)"
        let step = state.withLock { state -> Step in
            state.records.append(Record(request: request, timeout: timeout))
            guard var steps = state.steps[key], !steps.isEmpty else {
                return .refuse
            }
            let step = steps.removeFirst()
            state.steps[key] = steps
            return step
        }
        switch step {
        case .respond(let response):
            return response
        case .refuse:
            throw TransportError.connectionFailed("connection refused")
        case .timeOut:
            clock?.advance(by: timeout)
            throw TransportError.timedOut
        case .presentUntrustedCertificate:
            throw TransportError.untrustedCertificate("CERTIFICATE_VERIFY_FAILED")
        }
    }
}
