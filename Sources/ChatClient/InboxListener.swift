/// The long-poll loop of `chat listen`: read the inbox, hand each message
/// over, acknowledge the batch, repeat.
public struct InboxListener: Sendable {
    public var api: ChatAPI
    /// How long each read asks the server to wait for a message.
    public var waitSeconds: Int

    /// Between empty reads that asked the server not to wait.
    public static let pauseWithoutWait = Duration.seconds(1)
    /// How the listener pauses; tests replace it.
    public var pause: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }

    public init(api: ChatAPI, waitSeconds: Int = 30) {
        precondition((0...60).contains(waitSeconds), "the server waits 0 to 60 seconds")
        self.api = api
        self.waitSeconds = waitSeconds
    }

    /// Reads until cancelled, or, with `once`, until the first batch that is
    /// not empty has been handled. A batch is acknowledged only after
    /// `handle` returned for each of its messages, so a message is never lost,
    /// though one may be handed over again after a crash.
    public func run(once: Bool = false, _ handle: (Message) async throws -> Void) async throws {
        var after: Int64?
        while !Task.isCancelled {
            let inbox = try await api.inbox(after: after, waitSeconds: waitSeconds)
            for message in inbox.messages {
                try await handle(message)
            }
            if let last = inbox.messages.last {
                // Only what was handed over: a position past it would delete messages unseen.
                try await api.acknowledge(upTo: last.sequenceNumber)
                if once {
                    return
                }
            } else if waitSeconds == 0 {
                // The server answered at once with nothing: without a pause this loop would ask
                // again and again as fast as the cluster answers.
                try await pause(Self.pauseWithoutWait)
            }
            after = inbox.nextAfter
        }
        throw CancellationError()
    }
}
