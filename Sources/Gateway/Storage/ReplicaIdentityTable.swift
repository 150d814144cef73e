import Foundation
import GRDB
import ReplicaCore

/// Who a data directory belongs to: its cluster, its replica id and address, and the voters
/// (with addresses) the cluster started with. Written once, before Raft first runs.
public struct ReplicaIdentity: Sendable, Equatable {
    public var clusterID: String
    public var replicaID: Int
    public var url: String
    /// Empty for a replica that joined: it learns the configuration from the leader.
    public var bootstrapMembership: Membership
    /// For a replica that joined: where the configuration that added it stands in the log (0
    /// when unknown). Configurations before it are not about this replica, even under its id.
    public var joinedAt: Int64

    public init(clusterID: String, replicaID: Int, url: String, bootstrapMembership: Membership, joinedAt: Int64 = 0) {
        self.clusterID = clusterID
        self.replicaID = replicaID
        self.url = url
        self.bootstrapMembership = bootstrapMembership
        self.joinedAt = joinedAt
    }

    /// Where the configuration that made this replica a member stands in the log: 0 for a
    /// founding member, `joinedAt` for one that joined, nil when that is unknown.
    var memberSince: Int64? {
        if !bootstrapMembership.isEmpty { return 0 }
        return joinedAt > 0 ? joinedAt : nil
    }

    /// A fresh, random cluster id: 16 random bytes in hex.
    static func newClusterID() -> String {
        (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

enum ReplicaIdentityTable {
    static func load(in db: Database) throws -> ReplicaIdentity? {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT cluster_id, replica_id, url, bootstrap_membership FROM replica_identity WHERE id = 1")
        else { return nil }
        let bytes = [UInt8](row[3] as Data)
        return ReplicaIdentity(
            clusterID: row[0], replicaID: Int(row[1] as Int64), url: row[2],
            bootstrapMembership: bytes.isEmpty ? Membership() : try Membership(decoding: bytes),
            joinedAt: try ReplicaStateTable.get(.joinedAt, in: db) ?? 0)
    }

    static func save(_ identity: ReplicaIdentity, in db: Database) throws {
        let membership = identity.bootstrapMembership
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO replica_identity (id, cluster_id, replica_id, url, bootstrap_membership)
                VALUES (1, ?, ?, ?, ?)
                """,
            arguments: [
                identity.clusterID, Int64(identity.replicaID), identity.url,
                Data(membership.isEmpty ? [] : membership.encoded()),
            ])
        if identity.joinedAt > 0 { try ReplicaStateTable.set(.joinedAt, to: identity.joinedAt, in: db) }
    }

    /// Whether this data directory holds any Raft state: a vote, a term, a log or a snapshot.
    static func holdsRaftState(in db: Database) throws -> Bool {
        let term = try ReplicaStateTable.get(.term, in: db) ?? 0
        let entries = try Int64.fetchOne(db, sql: "SELECT count(*) FROM raft_entry") ?? 0
        let snapshots = try Int64.fetchOne(db, sql: "SELECT count(*) FROM raft_snapshot") ?? 0
        return term > 0 || entries > 0 || snapshots > 0
    }
}

/// The replicas this one ever received a Raft message from, recorded before the message is
/// handled. A replica whose data directory was wiped asks its peers whether they heard from
/// it: if one did, it voted or acknowledged before and must not start again under its id.
/// The URLs a replica that joined was given with `--join`, recorded with its identity.
enum JoinedThroughTable {
    static func all(in db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT url FROM joined_through ORDER BY url")
    }

    static func record(_ urls: [String], in db: Database) throws {
        for url in urls {
            try db.execute(sql: "INSERT OR IGNORE INTO joined_through (url) VALUES (?)", arguments: [url])
        }
    }
}

enum PeerContactTable {
    static func all(in db: Database) throws -> Set<Int> {
        Set(try Int64.fetchAll(db, sql: "SELECT replica_id FROM peer_contact").map { Int($0) })
    }

    static func record(_ replicaID: Int, in db: Database) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO peer_contact (replica_id) VALUES (?)", arguments: [Int64(replicaID)])
    }
}
