import Crypto
import Foundation
import ReplicaCore

extension ChatAPI {
    static let maxMessageBytes = 65_536
    static let maxIdempotencyKeyLength = 128

    func sendMessage(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        let timeline = WriteTimeline(received: context.receivedAt)
        return later { () async throws(APIError) -> HTTPResponse in
            let caller = try await authenticate(request)
            timeline.authenticated = .now
            let send = try RequestDecoding.body(RequestBodies.Send.self, from: request)
            guard (1...Self.maxMessageBytes).contains(send.body.utf8.count) else {
                throw .invalidBody("A message body is 1 to \(Self.maxMessageBytes) bytes of UTF-8.")
            }
            let idempotencyKey = try Self.idempotencyKey(of: request)
            if let redirect = routeWrite(request) { throw redirect }
            let command = ChatCommand.sendMessage(.init(
                tokenHash: caller.tokenHash, recipient: send.to, body: send.body,
                messageID: MessageID.generate(), sentAtMillis: dependencies.clock(),
                idempotencyKey: idempotencyKey, requestFingerprint: Self.fingerprint(send)))
            let outcome = try await submit(command, request: request, subject: send.to, timeline: timeline)
            guard case .messageSent(let message, _) = outcome else {
                throw APIError.internalError("Sending produced an unexpected outcome.")
            }
            return WireFormat.response(201, WireFormat.Message(message))
        }
    }

    /// The request's Idempotency-Key, if it has one. A key that is not UTF-8 text of 1 to 128
    /// characters without control characters is refused: ignoring it would drop the deduplication
    /// the client asked for.
    static func idempotencyKey(of request: HTTPRequest) throws(APIError) -> String? {
        if request.malformedHeaderNames.contains("idempotency-key") { throw .invalidIdempotencyKey }
        guard let key = request.header("Idempotency-Key") else { return nil }
        let hasControl = key.unicodeScalars.contains { $0.properties.generalCategory == .control }
        guard (1...maxIdempotencyKeyLength).contains(key.count), !hasControl else { throw .invalidIdempotencyKey }
        return key
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
