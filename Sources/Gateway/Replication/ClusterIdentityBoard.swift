import Synchronization

/// What the internal API needs to know about this replica's identity, shared between the
/// driver (which settles and records it) and the HTTP threads (which answer probes and
/// refuse other clusters' messages).
final class ClusterIdentityBoard: Sendable {
    struct State {
        /// Nil until this replica has bootstrapped, adopted or joined a cluster.
        var clusterID: String?
        var heardFrom: Set<Int> = []
    }

    private let state: Mutex<State>

    init(clusterID: String?, heardFrom: Set<Int>) {
        state = Mutex(State(clusterID: clusterID, heardFrom: heardFrom))
    }

    var clusterID: String? { state.withLock { $0.clusterID } }

    func settle(clusterID: String) { state.withLock { $0.clusterID = clusterID } }

    func hasHeard(from replicaID: Int) -> Bool { state.withLock { $0.heardFrom.contains(replicaID) } }

    /// Returns true the first time `replicaID` is noted.
    func noteHeard(from replicaID: Int) -> Bool { state.withLock { $0.heardFrom.insert(replicaID).inserted } }
}
