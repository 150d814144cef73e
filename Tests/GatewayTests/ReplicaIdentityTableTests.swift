import Foundation
import Testing
@testable import Gateway
@testable import ReplicaCore

/// A data directory's record of whom it belongs to survives a reopening whole.
@Suite struct ReplicaIdentityTableTests {
    static func reopened(after saving: ReplicaIdentity) throws -> ReplicaIdentity? {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("identity-\(UUID().uuidString)")
        try ChatDatabase(directory: directory).write { try ReplicaIdentityTable.save(saving, in: $0) }
        return try ChatDatabase(directory: directory).read { try ReplicaIdentityTable.load(in: $0) }
    }

    @Test func aJoinedReplicaKeepsTheConfigurationThatAddedIt() throws {
        let joined = ReplicaIdentity(clusterID: "c1", replicaID: 4, url: "http://h:4", bootstrapMembership: Membership(), joinedAt: 17)
        #expect(try Self.reopened(after: joined) == joined)
    }

    @Test func aFoundingReplicaKeepsItsFoundingMembers() throws {
        let founders = Membership(voters: [NodeID(1), NodeID(2)], addresses: [NodeID(1): "http://h:1", NodeID(2): "http://h:2"])
        let founding = ReplicaIdentity(clusterID: "c1", replicaID: 2, url: "http://h:2", bootstrapMembership: founders)
        #expect(try Self.reopened(after: founding) == founding)
    }

    @Test func aReplicaIsAMemberSinceItsFoundingOrTheConfigurationThatAddedIt() {
        let founders = Membership(voters: [NodeID(1)], addresses: [NodeID(1): "http://h:1"])
        #expect(ReplicaIdentity(clusterID: "c1", replicaID: 1, url: "http://h:1", bootstrapMembership: founders).memberSince == 0)
        #expect(ReplicaIdentity(clusterID: "c1", replicaID: 4, url: "http://h:4", bootstrapMembership: Membership(), joinedAt: 17).memberSince == 17)
        #expect(ReplicaIdentity(clusterID: "c1", replicaID: 4, url: "http://h:4", bootstrapMembership: Membership()).memberSince == nil,
            "added through a leader that did not say where")
    }
}
