import ChatClient
import Foundation
import Synchronization
import Testing

extension ClusterTests {
    /// The ChatClient library (FailoverClient, ChatAPI, AsyncHTTPTransport, InboxListener)
    /// against real replicas: redirects, a killed leader, and the long-poll listener.
    @Suite(.serialized) struct ChatClientFailover {
        static let password = "password123"

        @Test func aClientPointedAtAFollowerFollowsTheRedirectToTheLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll(signal: SIGKILL) }
            let leader = try await cluster.waitForLeader()
            let follower = try #require(cluster.followers(of: leader).first)
            try await RecordingTransport.using { transport in
                let client = FailoverClient(replicas: [follower.url], transport: transport)
                let account = try await ChatAPI(client: client).register(username: "alice", password: Self.password)
                #expect(account.username == "alice")
                let attempts = transport.attempts
                #expect(attempts.map(\.status) == [307, 201])
                #expect(attempts.map(\.origin) == [follower.baseURL, leader.baseURL])
                #expect(await client.preferredReplica == leader.url, "the next request should go straight to the leader")
            }
        }

        @Test func withForwardingAClientThatReachesOnlyAFollowerWritesThroughIt() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll(signal: SIGKILL) }
            let leader = try await cluster.waitForLeader()
            let follower = try #require(cluster.followers(of: leader).first)
            try await RecordingTransport.using { transport in
                let client = FailoverClient(replicas: [follower.url], transport: transport, prefersForwarding: true)
                let account = try await ChatAPI(client: client).register(username: "alice", password: Self.password)
                #expect(account.username == "alice")
                #expect(transport.attempts.map(\.status) == [201], "a forwarded write is answered without a redirect")
                #expect(transport.attempts.map(\.origin) == [follower.baseURL])
            }
        }

        @Test func aSendWhoseAnswerIsLostWhenTheLeaderIsKilledIsRetriedWithTheSameKeyAndDeliveredOnce() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll(signal: SIGKILL) }
            let leader = try await cluster.waitForLeader()
            try await RecordingTransport.using { transport in
                let replicas = [leader] + cluster.followers(of: leader)
                let alice = try await Self.loggedIn("alice", replicas: replicas, transport: transport)
                let bob = try await Self.loggedIn("bob", replicas: replicas, transport: transport)
                // The leader commits the message, then dies before its answer arrives.
                let lost = Locked<ChatClient.Message?>(nil)
                transport.afterResponse = { request, response in
                    guard request.url.path == "/v1/messages", response.status == 201 else { return }
                    lost.withLock { $0 = try? JSONDecoder().decode(ChatClient.Message.self, from: response.body) }
                    transport.afterResponse = nil
                    leader.stop(signal: SIGKILL)
                    throw TransportError.connectionFailed("the leader was killed before answering")
                }
                let message = try await alice.send("exactly once", to: "bob")

                let committed = try #require(lost.withLock { $0 }, "the first attempt never reached the leader")
                #expect(message.id == committed.id, "the retry must return the message the lost attempt sent")
                let sends = transport.attempts.filter { $0.path == "/v1/messages" }
                #expect(sends.count >= 2, "the send was not retried: \(sends)")
                let keys = Set(sends.map { $0.idempotencyKey })
                #expect(keys.count == 1 && keys.first! != nil, "every retry must repeat one Idempotency-Key: \(keys)")
                let inbox = try await bob.inbox()
                #expect(inbox.messages.map(\.body) == ["exactly once"], "delivered \(inbox.messages.count) times")
                #expect(inbox.messages.map(\.id) == [committed.id])
            }
        }

        @Test func aSendAfterTheLeaderIsKilledFailsOverToTheNewLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll(signal: SIGKILL) }
            let leader = try await cluster.waitForLeader()
            try await RecordingTransport.using { transport in
                let replicas = [leader] + cluster.followers(of: leader)
                let alice = try await Self.loggedIn("alice", replicas: replicas, transport: transport)
                let bob = try await Self.loggedIn("bob", replicas: replicas, transport: transport)
                _ = try await alice.send("before", to: "bob")
                #expect(await alice.client.preferredReplica == leader.url)
                leader.stop(signal: SIGKILL)

                let started = ContinuousClock.now
                let message = try await alice.send("after", to: "bob")
                #expect(ContinuousClock.now - started < .seconds(5), "failover took \(ContinuousClock.now - started)")
                #expect(message.body == "after")
                let newLeader = try await cluster.waitForLeader()
                #expect(await alice.client.preferredReplica == newLeader.url)
                #expect(try await bob.inbox().messages.map(\.body) == ["before", "after"])
            }
        }

        @Test func anInboxListenerReceivesAMessageSentWhileItWaitsAndAcknowledgesIt() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll(signal: SIGKILL) }
            let leader = try await cluster.waitForLeader()
            let follower = try #require(cluster.followers(of: leader).first)
            try await RecordingTransport.using { transport in
                let alice = try await Self.loggedIn("alice", replicas: [leader], transport: transport)
                let registered = try await Self.loggedIn("bob", replicas: [leader], transport: transport)
                // Bob listens at a follower: it serves his reads, and redirects his acknowledgements.
                let bob = ChatAPI(client: FailoverClient(replicas: [follower.url], transport: transport), token: registered.token)
                let received = Locked<[ChatClient.Message]>([])
                let listening = Task {
                    try await InboxListener(api: bob, waitSeconds: 10).run(once: true) { message in
                        received.withLock { $0.append(message) }
                    }
                }
                let polling = try? await eventually(timeout: .seconds(5)) {
                    transport.sentRequests.contains { $0.path == "/v1/inbox" && $0.origin == follower.baseURL } ? true : nil
                }
                try #require(polling != nil, "the listener never polled \(follower.baseURL): \(transport.sentRequests)")
                let sent = try await alice.send("wake up", to: "bob")
                try await listening.value

                #expect(received.withLock { $0.map(\.id) } == [sent.id])
                let acknowledgements = transport.attempts.filter { $0.path == "/v1/inbox/ack" }
                #expect(acknowledgements.map(\.status) == [307, 200], "the acknowledgement goes to the leader")
                let after = try await bob.inbox()
                #expect(after.messages.isEmpty, "an acknowledged message is still in the inbox")
                #expect(after.nextAfter == sent.sequenceNumber)
            }
        }

        /// A `ChatAPI` for a new account, logged in, over `replicas` in this order.
        static func loggedIn(_ username: String, replicas: [ChatdProcess], transport: RecordingTransport) async throws -> ChatAPI {
            var api = ChatAPI(client: FailoverClient(replicas: replicas.map(\.url), transport: transport))
            _ = try await api.register(username: username, password: password)
            api.token = try await api.logIn(username: username, password: password).token
            return api
        }
    }
}

/// A value shared between tasks and the closures they escape into.
final class Locked<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func withLock<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}

extension ChatdProcess {
    var url: URL { URL(string: baseURL)! }
}

/// The real transport, recording every attempt, with a hook that can lose an answer.
final class RecordingTransport: HTTPTransport {
    struct Attempt: Sendable {
        var origin: String
        var path: String
        var idempotencyKey: String?
        var status: Int?
    }

    typealias Hook = @Sendable (TransportRequest, TransportResponse) async throws -> Void

    private let transport = try! AsyncHTTPTransport(connectTimeout: .milliseconds(500))
    private let sent = Mutex<[Attempt]>([])
    private let recorded = Mutex<[Attempt]>([])
    private let hook = Mutex<Hook?>(nil)

    /// Every attempt, with its status (none when no answer came), in the order they ended.
    var attempts: [Attempt] { recorded.withLock { $0 } }

    /// Every attempt as it was sent, whether or not it has ended.
    var sentRequests: [Attempt] { sent.withLock { $0 } }

    /// Runs after each response arrives; what it throws replaces the response.
    var afterResponse: Hook? {
        get { hook.withLock { $0 } }
        set { hook.withLock { $0 = newValue } }
    }

    /// Runs `body` with a new transport, shut down afterwards whatever happens.
    static func using(_ body: (RecordingTransport) async throws -> Void) async throws {
        let transport = RecordingTransport()
        do {
            try await body(transport)
        } catch {
            try? await transport.transport.shutdown()
            throw error
        }
        try await transport.transport.shutdown()
    }

    func execute(_ request: TransportRequest, timeout: Duration) async throws -> TransportResponse {
        var attempt = Attempt(
            origin: "\(request.url.scheme ?? "http")://\(request.url.host ?? ""):\(request.url.port ?? 80)",
            path: request.url.path, idempotencyKey: request.headers["Idempotency-Key"])
        sent.withLock { $0.append(attempt) }
        do {
            let response = try await transport.execute(request, timeout: timeout)
            attempt.status = response.status
            recorded.withLock { $0.append(attempt) }
            try await afterResponse?(request, response)
            return response
        } catch {
            if attempt.status == nil { recorded.withLock { $0.append(attempt) } }
            throw error
        }
    }
}
