import Foundation
import Logging
import Testing
@testable import Gateway
import ReplicaCore

/// `/metrics` is answered on the epoll thread, so it reads what the applier keeps in memory,
/// never the database.
@Suite struct MetricsTests {
    /// A replicator whose status is fixed, with row counts the database does not hold.
    struct FixedStatusReplicator: Replicator {
        var sizes: ChatStateSizes
        func writeRoute() -> WriteRoute { .here }
        func submit(
            _ command: ChatCommand, timeline: WriteTimeline?,
            then completion: @escaping @Sendable (Result<ChatResult, ReplicationError>) -> Void
        ) { completion(.failure(.noLeader)) }
        func awaitLinearizableRead() async throws(ReplicationError) {}
        func status() -> ClusterStatus {
            var status = ClusterStatus(
                id: 1, role: "leader", term: 1, leader: nil, commitIndex: 0, appliedIndex: 0, members: [], isReady: true)
            status.sizes = sizes
            return status
        }
        func changeMembership(_ change: MembershipChange) async throws(MembershipChangeError) -> ClusterStatus.Member? {
            throw .replication(.noLeader)
        }
        func whenRemoved(_ handler: @escaping @Sendable () -> Void) {}
        func shutdown() {}
    }

    @Test func metricsShowTheApplierCountsWithoutCountingTables() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
        let api = ChatAPI(.init(
            database: try ChatDatabase(directory: directory),
            replicator: FixedStatusReplicator(sizes: ChatStateSizes(accounts: 7, sessions: 5, messages: 3)),
            waiters: InboxWaiters(), metrics: ServiceMetrics(), passwordHasher: PasswordHasher(rounds: 1),
            logger: Logger(label: "test")))
        guard case .now(let response) = api.handle(HTTPRequest(method: "GET", path: "/metrics")) else {
            Issue.record("/metrics must answer at once, on the epoll thread")
            return
        }
        let text = String(decoding: response.body, as: UTF8.self)
        for line in ["chat_accounts 7", "chat_sessions 5", "chat_stored_messages 3"] {
            #expect(text.contains(line), "/metrics lacks \(line) (the database holds no rows)")
        }
    }

    /// The applier's counts match the tables after inserts and deletes of every kind.
    @Test func applierCountsFollowInsertsAndDeletes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-\(UUID().uuidString)")
        let database = try ChatDatabase(directory: directory)
        let tally = SizeTally()
        try database.write { db in
            let store = SQLiteChatStore(db: db, tally: tally)
            let machine = ChatStateMachine()
            for name in ["alice", "bob"] {
                _ = try machine.apply(.createAccount(.init(username: name, passwordHash: "h", createdAtMillis: 1)), to: store)
                _ = try machine.apply(.openSession(.init(
                    username: name, verifiedPasswordHash: "h", tokenHash: "t-\(name)", createdAtMillis: 2)), to: store)
            }
            for index in 0..<4 {
                _ = try machine.apply(.sendMessage(.init(
                    tokenHash: "t-alice", recipient: "bob", body: "m\(index)", messageID: "id\(index)", sentAtMillis: 3,
                    idempotencyKey: nil, requestFingerprint: "f")), to: store)
            }
            _ = try machine.apply(.acknowledge(.init(tokenHash: "t-bob", upTo: 1)), to: store)
            _ = try machine.apply(.closeSession(.init(tokenHash: "t-alice")), to: store)
            _ = try machine.apply(.openSession(.init(
                username: "alice", verifiedPasswordHash: "h", tokenHash: "t-alice2", createdAtMillis: 4)), to: store)
            _ = try machine.apply(.deleteAccount(.init(tokenHash: "t-bob", username: "bob")), to: store)
        }
        let counted = try database.read { try ChatQueries.sizes(in: $0) }
        #expect(tally.change == counted, "kept \(tally.change), counted \(counted)")
    }
}
