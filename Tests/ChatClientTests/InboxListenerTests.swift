import ChatClient
import Foundation
import Synchronization
import Testing

@Suite("InboxListener")
struct InboxListenerTests {
    @Test("prints a batch, then acknowledges it, and with once stops there")
    func acknowledgesAfterHandling() async throws {
        let message = #"{"id":"i","seq":4,"from":"bob","to":"alice","body":"hi","sent_at":"2026-11-25T10:00:00.000Z"}"#
        let transport = ScriptedTransport([
            "a:8001": [
                .respond(.json(200, #"{"messages":[],"next_after":3}"#)),
                .respond(.json(200, #"{"messages":[\#(message)],"next_after":4}"#)),
                .respond(.json(200, #"{"acked_up_to":4}"#)),
            ]
        ])
        let client = FailoverClient(
            replicas: [URL(string: "http://a:8001")!], transport: transport, clock: ManualRetryClock())
        let listener = InboxListener(api: ChatAPI(client: client, token: "t"), waitSeconds: 30)
        var lines: [String] = []

        try await listener.run(once: true) { message in
            lines.append(message.displayLine)
            #expect(transport.requests.count == 2, "the batch is not yet acknowledged while it is handled")
        }

        #expect(lines == ["[2026-11-25T10:00:00.000Z] bob: hi"])
        let requests = transport.requests
        #expect(requests.map { $0.url.path } == ["/v1/inbox", "/v1/inbox", "/v1/inbox/ack"])
        #expect(requests[0].url.query == "wait=30")
        #expect(requests[1].url.query == "after=3&wait=30")
        let body = try JSONSerialization.jsonObject(with: requests[2].body ?? Data()) as? [String: Int]
        #expect(body == ["up_to": 4])
    }
}
