import Crypto
import Foundation
import ReplicaCore

extension ChatAPI {
    static let maxMessageBytes = 65_536
    static let maxIdempotencyKeyLength = 128

    /// The hot path, with no task and no thread of its own: on the epoll thread the caller is
    /// authenticated from the in-memory session table and the command built; the Raft driver
    /// hands the result back to the epoll thread, which makes the response. A token the table
    /// misses is looked up in SQLite, then checked again after a linearizable read, in a task.
    func sendMessage(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        let timeline = WriteTimeline(received: context.receivedAt)
        return .deferred { [self] responder in
            do throws(APIError) {
                if let session = try sessionInTable(request) {
                    return try submitSend(request, tokenHash: session.tokenHash, timeline: timeline, responder: responder)
                }
                Task { [self] in
                    do throws(APIError) {
                        let caller = try await authenticate(request)
                        try submitSend(request, tokenHash: caller.tokenHash, timeline: timeline, responder: responder)
                    } catch {
                        responder.answer(error.response)
                    }
                }
            } catch {
                responder.answer(error.response)
            }
        }
    }

    private func submitSend(
        _ request: HTTPRequest, tokenHash: String, timeline: WriteTimeline, responder: HTTPResponder
    ) throws(APIError) {
        timeline.authenticated = .now
        let send = try Self.sendBody(of: request)
        guard Username.isValid(send.to) else { throw .invalidUsername }
        guard (1...Self.maxMessageBytes).contains(send.body.utf8.count) else {
            throw .invalidBody("A message body is 1 to \(Self.maxMessageBytes) bytes of UTF-8.")
        }
        let idempotencyKey = try Self.idempotencyKey(of: request)
        if let redirect = routeWrite(request) { throw redirect }
        let command = ChatCommand.sendMessage(.init(
            tokenHash: tokenHash, recipient: send.to, body: send.body,
            messageID: MessageID.generate(), sentAtMillis: dependencies.clock(),
            idempotencyKey: idempotencyKey, requestFingerprint: Self.fingerprint(send)))
        dependencies.replicator.submit(command, timeline: timeline) { [self] result in
            responder.answer(making: {
                do throws(APIError) {
                    let outcome = try self.outcome(of: result, request: request, subject: send.to, timeline: timeline)
                    guard case .messageSent(let message, _) = outcome else {
                        throw APIError.internalError("Sending produced an unexpected outcome.")
                    }
                    return WireFormat.response(201, json: WireFormat.Message(message).json)
                } catch {
                    return error.response
                }
            })
        }
    }

    /// The body of a send: the usual `{"to": …, "body": …}` read without Foundation, anything
    /// else by `JSONDecoder` (and its errors).
    static func sendBody(of request: HTTPRequest) throws(APIError) -> RequestBodies.Send {
        if RequestDecoding.isJSON(request.header("Content-Type")), let fields = StringObjectJSON.parse(request.body),
           fields.count == 2, let to = fields["to"], let body = fields["body"] {
            return RequestBodies.Send(to: to, body: body)
        }
        return try RequestDecoding.body(RequestBodies.Send.self, from: request)
    }

    static let messagesPath = "/v1/messages"

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
        return hasher.finalize().hexadecimal
    }
}
