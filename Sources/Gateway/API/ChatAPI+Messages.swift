import Crypto
import Foundation
import ReplicaCore

extension ChatAPI {
    static let maxMessageBytes = 65_536
    static let maxIdempotencyKeyLength = 128

    func sendMessage(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        let send: RequestBodies.Send
        do throws(APIError) {
            send = try RequestDecoding.body(RequestBodies.Send.self, from: request)
        } catch {
            return .error(error)
        }
        guard (1...Self.maxMessageBytes).contains(send.body.utf8.count) else {
            return .error(.invalidBody("A message body is 1 to \(Self.maxMessageBytes) bytes of UTF-8."))
        }
        let idempotencyKey = request.header("Idempotency-Key")
        if let idempotencyKey, !(1...Self.maxIdempotencyKeyLength).contains(idempotencyKey.count) {
            return .error(.invalidIdempotencyKey)
        }
        if let redirect = routeWrite(request) { return .error(redirect) }
        return later { () async throws(APIError) -> HTTPResponse in
            let caller = try await authenticate(request)
            let command = ChatCommand.sendMessage(.init(
                tokenHash: caller.tokenHash, recipient: send.to, body: send.body,
                messageID: MessageID.generate(), sentAtMillis: dependencies.clock(),
                idempotencyKey: idempotencyKey, requestFingerprint: Self.fingerprint(send)))
            let outcome = try await submit(command, request: request, subject: send.to)
            guard case .messageSent(let message, _) = outcome else {
                throw APIError.internalError("Sending produced an unexpected outcome.")
            }
            return WireFormat.response(201, WireFormat.Message(message))
        }
    }

    /// Identifies a send's content: a reused idempotency key must come with the same request.
    static func fingerprint(_ send: RequestBodies.Send) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(Username.key(send.to).utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(send.body.utf8))
        return hasher.finalize().map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}
