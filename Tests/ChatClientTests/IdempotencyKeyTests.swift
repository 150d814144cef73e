import ChatClient
import Foundation
import Synchronization
import Testing

@Suite("Idempotency-Key of chat send")
struct IdempotencyKeyTests {
    let replicas = [URL(string: "http://a:8001")!, URL(string: "http://b:8002")!, URL(string: "http://c:8003")!]
    let created = TransportResponse.json(
        201,
        #"{"id":"7d3c1a52-0000-4000-8000-000000000001","seq":1,"from":"alice","to":"bob","body":"hi","sent_at":"2026-11-25T10:00:00.000Z"}"#
    )

    @Test("keeps the same key across a refused connection, a 503, a redirect and a timeout")
    func sameKeyAcrossFailovers() async throws {
        let clock = ManualRetryClock()
        let transport = ScriptedTransport(
            [
                "a:8001": [.refuse, .respond(created)],
                "b:8002": [.respond(.error(503, code: "no_leader"))],
                "c:8003": [.respond(.redirect(to: "http://b:8002/v1/messages")), .timeOut],
            ], clock: clock)
        let client = FailoverClient(replicas: replicas, transport: transport, clock: clock)
        let api = ChatAPI(client: client, token: "t", makeIdempotencyKey: { "key-1" })

        let message = try await api.send("hi", to: "bob")

        #expect(message.sequenceNumber == 1)
        #expect(message.sender == "alice")
        let requests = transport.requests
        #expect(requests.count == 5)
        #expect(requests.allSatisfy { $0.headers["Idempotency-Key"] == "key-1" })
        #expect(requests.allSatisfy { $0.method == .post && $0.url.path == "/v1/messages" })
        #expect(Set(requests.map(\.body)).count == 1)
    }

    @Test("makes a fresh key for each message")
    func freshKeyPerMessage() async throws {
        let transport = ScriptedTransport(["a:8001": [.respond(created), .respond(created)]])
        let client = FailoverClient(replicas: replicas, transport: transport, clock: ManualRetryClock())
        let api = ChatAPI(client: client, token: "t")

        _ = try await api.send("hi", to: "bob")
        _ = try await api.send("hi", to: "bob")

        let keys = transport.requests.compactMap { $0.headers["Idempotency-Key"] }
        #expect(keys.count == 2)
        #expect(keys[0] != keys[1])
        #expect(keys.allSatisfy { UUID(uuidString: $0) != nil })
    }
}
