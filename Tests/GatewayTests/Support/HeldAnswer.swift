import Synchronization
@testable import Gateway

/// What a responder was given, if anything yet.
final class HeldAnswer: Sendable {
    private let state = Mutex<(make: HTTPResponder.MakeResponse?, waiter: CheckedContinuation<Void, Never>?)>((nil, nil))

    var responder: HTTPResponder {
        HTTPResponder { [self] made in
            let waiter = self.state.withLock { state in
                state.make = made
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    var response: HTTPResponse? { state.withLock { $0.make }.map { $0() } }

    /// The response, once one is given.
    func arrival() async -> HTTPResponse? {
        await withCheckedContinuation { continuation in
            let isAnswered = state.withLock { state in
                if state.make == nil { state.waiter = continuation }
                return state.make != nil
            }
            if isAnswered { continuation.resume() }
        }
        return response
    }
}
