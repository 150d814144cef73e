import Foundation

/// Whether a replica is no longer a member of its cluster, from what the other members report.
///
/// A leader stops sending to a replica as soon as it appends that replica's removal, so a
/// removed replica almost never receives the entry that removed it: it only stops hearing from
/// a leader. So it asks the members it knows (`GET /v1/cluster`). A report proves the removal
/// when the configuration it lists
/// - is this replica's cluster's,
/// - is committed (`configuration_index <= commit_index`), so it can never be undone,
/// - was reported with a commit index later than any configuration this replica knows, so it
///   is not older news, and any later re-adding of this replica would be known here,
/// - and does not list this replica's id.
///
/// Ids, not URLs, are compared: founding members each take the starting configuration from
/// their own `--peers`, where one machine may be spelled two ways (a name and an address).
///
/// The freshest report (the highest commit index) decides: if this replica was added again
/// since, a member that has seen it lists it. A replica still catching up after it joined
/// concludes nothing until its configuration is at least the one that added it: ids may be
/// used again, and the configurations it meets before may be about an earlier replica of its
/// id. A configuration that does not list it counts only when it is later than the one that
/// made it a member: then it is its own removal, appended but perhaps not committed (a leader
/// that appended its own removal and lost its term before the commit is such a replica).
enum RemovalVerdict {
    /// One member's answer to `GET /v1/cluster`.
    struct Report: Equatable, Sendable {
        var reporter: String
        var clusterID: String
        var commitIndex: Int64
        var configurationIndex: Int64
        /// URL by replica id.
        var members: [Int: String]

        init(reporter: String, clusterID: String, commitIndex: Int64, configurationIndex: Int64, members: [Int: String]) {
            self.reporter = reporter
            self.clusterID = clusterID
            self.commitIndex = commitIndex
            self.configurationIndex = configurationIndex
            self.members = members
        }

        /// Nil for an answer that is not a replica's cluster view, or one from a version that
        /// does not say where its configuration stands: that proves nothing.
        init?(json: [String: Any], from reporter: String) {
            guard let clusterID = json["cluster_id"] as? String,
                let commitIndex = json["commit_index"] as? Int,
                let configurationIndex = json["configuration_index"] as? Int,
                let list = json["members"] as? [[String: Any]]
            else { return nil }
            var members: [Int: String] = [:]
            for member in list {
                guard let id = member["id"] as? Int, let url = member["url"] as? String else { return nil }
                members[id] = url
            }
            self.init(
                reporter: reporter, clusterID: clusterID, commitIndex: Int64(commitIndex),
                configurationIndex: Int64(configurationIndex), members: members)
        }
    }

    /// What this replica knows of itself and of its configuration.
    struct Own: Equatable, Sendable {
        var replicaID: Int
        var clusterID: String
        /// Where its newest configuration (committed or not) is stored.
        var configurationIndex: Int64
        /// URL by replica id: the members to ask.
        var members: [Int: String]
        /// Where the configuration that made it a member is stored: 0 for a founding member,
        /// the configuration that added it for one that joined, nil when the leader that added
        /// it did not say (a version before `configuration_index`).
        var memberSince: Int64? = 0
    }

    /// Whether any report could prove `own` removed: not before it knows its cluster and a
    /// configuration, at least the one that made it a member, that lists it or removes it.
    static func canConclude(_ own: Own) -> Bool {
        guard !own.clusterID.isEmpty, own.configurationIndex >= own.memberSince ?? 0 else { return false }
        if own.members[own.replicaID] != nil { return true }
        guard let memberSince = own.memberSince else { return false }
        return own.configurationIndex > memberSince
    }

    /// The report that proves `own` was removed, or nil.
    static func removal(of own: Own, reports: [Report]) -> Report? {
        guard canConclude(own) else { return nil }
        let committed = reports.filter { $0.clusterID == own.clusterID && $0.configurationIndex <= $0.commitIndex }
        guard let freshest = committed.max(by: { $0.commitIndex < $1.commitIndex }),
            freshest.commitIndex > own.configurationIndex
        else { return nil }
        let asFresh = committed.filter { $0.commitIndex == freshest.commitIndex }
        guard asFresh.allSatisfy({ $0.members[own.replicaID] == nil }) else { return nil }
        return freshest
    }
}
