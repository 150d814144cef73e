import Crypto
import Foundation
import ReplicaCore

extension ChatAPI {
    static let maxMessageBytes = 65_536
    static let maxIdempotencyKeyLength = 128

    func sendMessage(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        return later { () async throws(APIError) -> HTTPResponse in
            let caller = try await authenticate(request)
            let send = try RequestDecoding.body(RequestBodies.Send.self, from: request)
            guard (1...Self.maxMessageBytes).contains(send.body.utf8.count) else {
                throw .invalidBody("A message body is 1 to \(Self.maxMessageBytes) bytes of UTF-8.")
            }
            let idempotencyKey = request.header("Idempotency-Key")
            if let idempotencyKey, !(1...Self.maxIdempotencyKeyLength).contains(idempotencyKey.count) {
                throw .invalidIdempotencyKey
            }
            if let redirect = routeWrite(request) { throw redirect }
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
