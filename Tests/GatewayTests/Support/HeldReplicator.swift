import Synchronization
@testable import Gateway
import ReplicaCore

/// Takes commands without replicating them; the test completes them.
final class HeldReplicator: Replicator {
    private let held = Mutex<[(command: ChatCommand, complete: @Sendable (Result<ChatResult, ReplicationError>) -> Void)]>([])

    var commands: [ChatCommand] { held.withLock { $0.map(\.command) } }

    /// Completes the first command submitted; false when none was.
    func completeFirst(with result: Result<ChatResult, ReplicationError>) -> Bool {
        guard let complete = held.withLock({ $0.first?.complete }) else { return false }
        complete(result)
        return true
    }

    /// Where writes go; a test may move leadership.
    let route = Mutex<WriteRoute>(.here)

    func writeRoute() -> WriteRoute { route.withLock { $0 } }
    func submit(
        _ command: ChatCommand, timeline: WriteTimeline?,
        then completion: @escaping @Sendable (Result<ChatResult, ReplicationError>) -> Void
    ) {
        held.withLock { $0.append((command, completion)) }
    }
    func awaitLinearizableRead() async throws(ReplicationError) {}
    func status() -> ClusterStatus {
        ClusterStatus(id: 1, role: "leader", term: 1, leader: nil, commitIndex: 0, appliedIndex: 0, members: [], isReady: true)
    }
    func changeMembership(_ change: MembershipChange) async throws(MembershipChangeError) -> ClusterStatus.Member? {
        throw .replication(.noLeader)
    }
    func whenRemoved(_ handler: @escaping @Sendable () -> Void) {}
    func shutdown() {}
}
