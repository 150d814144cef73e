import Foundation
import Logging
import Testing
@testable import Gateway
import ReplicaCore

@Suite struct RaftDriverStartTests {
    /// Right after a snapshot is installed from a state file copied later than the snapshot's
    /// index, the state stands ahead of the log until the next entries arrive; a crash in that
    /// window must not stop the replica from starting again.
    @Test func aReplicaWhoseStateIsAheadOfItsLogStillStarts() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("driver-\(UUID().uuidString)")
        let database = try ChatDatabase(directory: directory)
        let storage = try SQLiteRaftStorage(database: database)
        try database.write { db in
            try storage.installSnapshot(SnapshotMetadata(index: 40, term: 2), in: db)
            try storage.setHardState(HardState(term: 2, vote: nil, commit: 40), in: db)
            try ReplicaStateTable.set(.appliedIndex, to: 50, in: db)
        }
        let peers = (1...3).map { PeerAddress(id: $0, url: "http://127.0.0.1:\(1 + $0)") }
        let replicator = try RaftReplicator(
            configuration: .init(id: 1, peers: peers, clusterSecret: "secret"), database: try ChatDatabase(directory: directory),
            listener: InboxWaiters(), logger: Logger(label: "test"))
        defer { replicator.shutdown() }
        let deadline = ContinuousClock.now + .seconds(5)
        while replicator.status().appliedIndex != 50 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(replicator.status().appliedIndex == 50, "the state's own applied index is kept")
        #expect(replicator.status().commitIndex == 40)
    }
}

@Suite struct ReadContextTests {
    /// An answer to a read sent before a restart can never be taken for an answer to a read
    /// made after it: contexts do not start over at the same number.
    @Test func readContextsDoNotRepeatAcrossRestarts() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("driver-\(UUID().uuidString)")
        let peers = (1...3).map { PeerAddress(id: $0, url: "http://127.0.0.1:\(1 + $0)") }
        let configuration = RaftReplicator.Configuration(id: 1, peers: peers, clusterSecret: "secret")
        var firstContexts: Set<UInt64> = []
        for _ in 0..<3 {
            let identity = ReplicaIdentity(
                clusterID: "c", replicaID: 1, url: peers[0].url,
                bootstrapMembership: Membership(voters: [1, 2, 3]))
            let driver = try RaftDriver(
                configuration: configuration, identity: identity,
                board: ClusterIdentityBoard(clusterID: "c", heardFrom: []),
                database: try ChatDatabase(directory: directory),
                incomingSnapshots: try IncomingSnapshots(directory: directory.appendingPathComponent("incoming")),
                listener: InboxWaiters(), logger: Logger(label: "test"), send: { _ in }, updatePeers: { _ in })
            firstContexts.insert(driver.nextReadContext)
        }
        #expect(firstContexts.count == 3, "three starts began at read contexts \(firstContexts)")
    }
}
