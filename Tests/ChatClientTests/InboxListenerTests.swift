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

    static let message = #"{"id":"i","seq":4,"from":"bob","to":"alice","body":"hi","sent_at":"2026-11-25T10:00:00.000Z"}"#

    static func listener(_ transport: ScriptedTransport, waitSeconds: Int = 30) -> InboxListener {
        let client = FailoverClient(replicas: [URL(string: "http://a:8001")!], transport: transport, clock: ManualRetryClock())
        return InboxListener(api: ChatAPI(client: client, token: "t"), waitSeconds: waitSeconds)
    }

    @Test("acknowledges up to the last message handled, never past it")
    func acknowledgesOnlyWhatWasHandled() async throws {
        let transport = ScriptedTransport([
            "a:8001": [
                .respond(.json(200, #"{"messages":[\#(Self.message)],"next_after":9}"#)),
                .respond(.json(200, #"{"acked_up_to":4}"#)),
            ]
        ])
        try await Self.listener(transport).run(once: true) { _ in }
        let body = try JSONSerialization.jsonObject(with: transport.requests.last?.body ?? Data()) as? [String: Int]
        #expect(body == ["up_to": 4], "acknowledged \(String(describing: body)) after handling message 4")
    }

    @Test("a message that could not be handed over leaves its batch unacknowledged")
    func aFailedHandlingAcknowledgesNothing() async throws {
        struct OutputClosed: Error {}
        let transport = ScriptedTransport([
            "a:8001": [.respond(.json(200, #"{"messages":[\#(Self.message)],"next_after":4}"#))]
        ])
        await #expect(throws: OutputClosed.self) {
            try await Self.listener(transport).run { _ in throw OutputClosed() }
        }
        #expect(transport.requests.map { $0.url.path } == ["/v1/inbox"])
    }

    @Test("without a server wait, an empty read is followed by a pause, not at once by the next")
    func emptyReadsWithoutAWaitArePaced() async throws {
        let empty = ScriptedTransport.Step.respond(.json(200, #"{"messages":[],"next_after":0}"#))
        let transport = ScriptedTransport(["a:8001": [empty, empty, empty]])
        var listener = Self.listener(transport, waitSeconds: 0)
        let pauses = Mutex<[Duration]>([])
        listener.pause = { duration in
            let count = pauses.withLock { $0.append(duration); return $0.count }
            if count == 2 { throw CancellationError() }
        }
        await #expect(throws: CancellationError.self) { try await listener.run { _ in } }
        #expect(pauses.withLock { $0 } == [InboxListener.pauseWithoutWait, InboxListener.pauseWithoutWait])
        #expect(transport.requests.count == 2, "one read per pause")
    }
}
