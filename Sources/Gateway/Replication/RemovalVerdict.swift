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
/// since, a member that has seen it lists it. Ids may be used again, so a configuration counts
/// only when it is later than the one that made this replica a member (`memberSince`): those
/// before may be about an earlier replica of its id. So a replica still catching up after it
/// joined needs a reported configuration later than the one that added it, and its own
/// configuration, if it does not list it, counts only when it is later too: then it is its own
/// removal, appended but perhaps not committed (a leader that appended its own removal and
/// lost its term before the commit is such a replica).
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

    /// Whether any report could prove `own` removed: not before it knows its cluster, and
    /// either a configuration that lists it, or where it was made a member.
    static func canConclude(_ own: Own) -> Bool {
        guard !own.clusterID.isEmpty else { return false }
        guard let memberSince = own.memberSince else {
            return own.members[own.replicaID] != nil
        }
        return own.members[own.replicaID] != nil || own.configurationIndex != memberSince
    }

    /// Whether `own` has not yet caught up to the configuration that made it a member.
    static func isCatchingUp(_ own: Own) -> Bool {
        own.configurationIndex < own.memberSince ?? 0
    }

    /// The report that proves `own` was removed, or nil.
    static func removal(of own: Own, reports: [Report]) -> Report? {
        guard canConclude(own) else { return nil }
        let committed = reports.filter { $0.clusterID == own.clusterID && $0.configurationIndex <= $0.commitIndex }
        guard let freshest = committed.max(by: { $0.commitIndex < $1.commitIndex }),
            freshest.commitIndex > own.configurationIndex
        else { return nil }
        if isCatchingUp(own), freshest.configurationIndex <= own.memberSince ?? 0 { return nil }
        let asFresh = committed.filter { $0.commitIndex == freshest.commitIndex }
        guard asFresh.allSatisfy({ $0.members[own.replicaID] == nil }) else { return nil }
        return freshest
    }
}
