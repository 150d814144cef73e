import Foundation
import Logging
import ReplicaCore

/// How a replica with an empty data directory comes into a cluster, settled before Raft
/// runs: until then it neither votes nor acknowledges anything.
///
/// With `--peers` it asks every listed peer whether it holds a cluster and whether it ever
/// heard from this replica's id:
/// - a peer heard from it: its data was lost (a wiped disk under an old id). It refuses to
///   start and prints the replacement procedure: it could otherwise vote twice in one term
///   or forget entries it acknowledged;
/// - a peer holds a cluster that never heard from it: it is a founding member that starts
///   late, and adopts that cluster;
/// - every peer answers and none holds a cluster: the lowest id creates the cluster, the
///   others adopt it when they next ask.
/// With `--join` it asks the leader to add it as a learner and takes the cluster's id from
/// the answer.
public enum ClusterEntry: Sendable, Equatable {
    case bootstrap(peers: [PeerAddress])
    case join(urls: [String], stayLearner: Bool)
}

/// Why a replica refuses to start; the text is written for the operator.
struct ClusterEntryRefusal: Error, CustomStringConvertible {
    var description: String
}

struct ClusterEntryResolver {
    let replicaID: Int
    let ownURL: String
    let dataDirectory: String
    let calls: PeerCalls
    let logger: Logger
    /// Between rounds of asking; tests keep it short.
    var retryInterval: Duration = .milliseconds(250)

    func resolve(_ entry: ClusterEntry) throws(ClusterEntryRefusal) -> ReplicaIdentity {
        switch entry {
        case .bootstrap(let peers): try bootstrap(peers)
        case .join(let urls, _): try join(urls)
        }
    }

    // MARK: --peers

    private func bootstrap(_ peers: [PeerAddress]) throws(ClusterEntryRefusal) -> ReplicaIdentity {
        let membership = Membership(founding: peers)
        let others = peers.filter { $0.id != replicaID }
        func identity(_ clusterID: String) -> ReplicaIdentity {
            ReplicaIdentity(clusterID: clusterID, replicaID: replicaID, url: ownURL, bootstrapMembership: membership)
        }
        if others.isEmpty {
            let clusterID = ReplicaIdentity.newClusterID()
            // Said plainly: a wiped replica restarted with itself alone in --peers lands here too.
            logger.notice("creating cluster \(clusterID) of this replica alone (--peers names no other)")
            return identity(clusterID)
        }
        var lastWaitLog: ContinuousClock.Instant?
        while true {
            var clusters: Set<String> = []
            var unanswered: [Int] = []
            var witnesses: [Int] = []
            var reasons: [String] = []
            var strangers: [String] = []
            for peer in others {
                let url = "\(peer.url)/internal/identity?asker=\(replicaID)"
                let answer = calls.call(.GET, url)
                guard let answer, answer.status == 200, let json = answer.json() else {
                    unanswered.append(peer.id)
                    reasons.append("\(peer.id): \(calls.summary(of: answer, from: url))")
                    continue
                }
                // Older releases do not say who answers.
                if let answering = json["replica_id"] as? Int, answering != peer.id {
                    strangers.append("replica \(answering) answers at \(peer.url), which --peers gives to replica \(peer.id)")
                }
                if let clusterID = json["cluster_id"] as? String { clusters.insert(clusterID) }
                if json["heard_from_asker"] as? Bool == true { witnesses.append(peer.id) }
            }
            if !witnesses.isEmpty { throw refusalForWipedReplica(witnesses: witnesses, clusters: clusters) }
            if !strangers.isEmpty { throw refusalForChangedPeers(strangers) }
            if unanswered.isEmpty {
                if clusters.count > 1 {
                    throw ClusterEntryRefusal(
                        description: "the replicas in --peers belong to different clusters (\(clusters.sorted().joined(separator: ", "))): check --peers")
                }
                if let clusterID = clusters.first {
                    logger.notice("joining cluster \(clusterID) as a founding member that starts late")
                    return identity(clusterID)
                }
                if replicaID < others.map(\.id).min()! {
                    let clusterID = ReplicaIdentity.newClusterID()
                    logger.notice("every replica in --peers is new: creating cluster \(clusterID)")
                    return identity(clusterID)
                }
            }
            let now = ContinuousClock.now
            if lastWaitLog.map({ now - $0 > .seconds(10) }) ?? true {
                lastWaitLog = now
                let waitingFor = unanswered.isEmpty
                    ? "replica \(others.map(\.id).min()!) to create the cluster"
                    : "replicas \(unanswered.map(String.init).joined(separator: ", ")) to answer (\(reasons.joined(separator: "; ")))"
                logger.notice("new data directory: waiting for \(waitingFor) before first start")
            }
            Thread.sleep(forTimeInterval: Double(retryInterval.components.attoseconds) / 1e18)
        }
    }

    /// Only the founding members named in --peers can say that this replica never ran: one
    /// that stands in for another at its address (a replaced machine) never heard from it,
    /// whether it ran or not.
    private func refusalForChangedPeers(_ strangers: [String]) -> ClusterEntryRefusal {
        ClusterEntryRefusal(description: """
            refusing to start: the data directory \(dataDirectory) is empty, and --peers no longer describes the \
            cluster: \(strangers.joined(separator: "; ")). The members that could say whether replica \(replicaID) \
            ran before are gone, and a replica that ran before and lost its data could vote twice in one term or \
            forget writes it acknowledged. Correct --peers if it is wrong; otherwise start this machine with a new \
            id, joining the cluster (see README, "Replacing a failed machine"):
              chatd --id <new id> --join <url of a live replica> --listen <host:port> --data-dir <dir> --cluster-secret-file <file>
            """)
    }

    fileprivate func refusalForWipedReplica(witnesses: [Int], clusters: Set<String>) -> ClusterEntryRefusal {
        let cluster = clusters.first.map { " of cluster \($0)" } ?? ""
        let evidence = witnesses.isEmpty
            ? "replica \(replicaID) is a voter\(cluster), so it ran before (a voter founded the cluster or caught up before its promotion)"
            : "replica(s) \(witnesses.map(String.init).joined(separator: ", "))\(cluster) heard from replica \(replicaID) before"
        return ClusterEntryRefusal(description: """
            refusing to start: the data directory \(dataDirectory) is empty, but \(evidence), \
            so its data was lost. Started again under id \(replicaID) it could vote twice in one term or forget \
            writes it acknowledged.
            To replace it (see README, "Replacing a failed machine"):
              1. remove the old id, unless `chat cluster list` shows it is gone already:
                 CHAT_CLUSTER_SECRET=... chat cluster remove \(replicaID)
              2. start the machine with a new id and an empty data directory, joining the cluster:
                 chatd --id <new id> --join <url of a live replica> --listen <host:port> --data-dir <dir> --cluster-secret-file <file>
            """)
    }

    // MARK: --join

    private func join(_ urls: [String]) throws(ClusterEntryRefusal) -> ReplicaIdentity {
        var lastWaitLog: ContinuousClock.Instant?
        var waitingFor = "no leader answered yet"
        while true {
            // Why each URL did not add this replica, for the operator watching it wait.
            var reasons: [String] = []
            for url in urls {
                let membersURL = "\(url)/v1/cluster/members"
                guard let answer = calls.call(.POST, membersURL, json: ["id": replicaID, "url": ownURL]) else {
                    reasons.append("\(url): \(calls.summary(of: nil, from: membersURL))")
                    continue
                }
                switch answer.status {
                case 201:
                    guard let json = answer.json(), let clusterID = json["cluster_id"] as? String else { continue }
                    logger.notice("added to cluster \(clusterID) as a learner; catching up")
                    return ReplicaIdentity(
                        clusterID: clusterID, replicaID: replicaID, url: ownURL, bootstrapMembership: Membership(),
                        joinedAt: Int64(json["configuration_index"] as? Int ?? 0))
                case 409 where answer.errorCode == "change_in_progress":
                    reasons.append("\(url): another membership change is in progress")
                    continue  // another replica is joining right now: ask again
                case 409 where answer.errorCode == "member_exists":
                    let message = answer.error?["message"] as? String ?? "already a member"
                    switch try adoptExistingMembership(askedAt: url, refusal: message) {
                    case .adopted(let identity): return identity
                    case .waiting(let reason): waitingFor = reason
                    }
                case 400, 401, 409:
                    let message = answer.error?["message"] as? String ?? "status \(answer.status)"
                    throw ClusterEntryRefusal(description: "the cluster refused to add replica \(replicaID) (\(ownURL)): \(message)")
                default:
                    // No leader yet, or shutting down: ask again. Anything else is not a replica.
                    let known = [503, 307].contains(answer.status)
                    reasons.append("\(url): \(answer.summary)" + (known ? "" : " (is it a replica of this cluster?)"))
                    continue
                }
            }
            let now = ContinuousClock.now
            if lastWaitLog.map({ now - $0 > .seconds(10) }) ?? true {
                lastWaitLog = now
                let why = reasons.isEmpty ? "" : " (\(reasons.joined(separator: "; ")))"
                logger.notice("asking \(urls.joined(separator: ", ")) to add replica \(replicaID); \(waitingFor)\(why)")
            }
            Thread.sleep(forTimeInterval: Double(retryInterval.components.attoseconds) / 1e18)
        }
    }
}

extension ClusterEntryResolver {
    /// This id is a member already: an operator added it (`chat cluster add`) before starting
    /// it, or an earlier start was added but stopped before recording the answer. It may take
    /// the place only if it is listed at this very URL and no member has ever heard from it;
    /// otherwise its data was lost, or the id belongs to another machine. A voter never may.
    /// Until every member has answered for the cluster, it waits; a member with no data yet
    /// answers for it only if it never ran.
    fileprivate enum Adoption {
        case adopted(ReplicaIdentity)
        /// Ask again later; the reason is for the operator.
        case waiting(String)
    }

    fileprivate func adoptExistingMembership(
        askedAt url: String, refusal message: String
    ) throws(ClusterEntryRefusal) -> Adoption {
        // The leader's view: a lagging follower may not list a member that heard from this id.
        guard let asked = calls.call(.GET, "\(url)/v1/cluster")?.json(),
            let leaderURL = (asked["leader"] as? [String: Any])?["url"] as? String,
            let view = calls.call(.GET, "\(leaderURL)/v1/cluster")?.json(), view["role"] as? String == "leader",
            let clusterID = view["cluster_id"] as? String,
            let members = view["members"] as? [[String: Any]]
        else { return .waiting("replica \(replicaID) is already listed; asking the leader for its view") }
        // The leader lists its newest configuration, committed or not: a place in one that a
        // later leader may drop is no place to take, and would never be asked for again.
        let configurationIndex = view["configuration_index"] as? Int ?? 0
        guard let commitIndex = view["commit_index"] as? Int, configurationIndex <= commitIndex else {
            return .waiting("""
                replica \(replicaID) is listed in a configuration (index \(configurationIndex)) that is not committed yet; \
                waiting for it to commit
                """)
        }
        guard let listed = members.first(where: { $0["id"] as? Int == replicaID }) else {
            // The URL is another member's: this is no place to take.
            throw ClusterEntryRefusal(description: "the cluster refused to add replica \(replicaID) (\(ownURL)): \(message)")
        }
        guard listed["url"] as? String == ownURL else {
            throw ClusterEntryRefusal(description: """
                the cluster refused to add replica \(replicaID) (\(ownURL)): replica \(replicaID) is already a member \
                at \(listed["url"] as? String ?? "another URL"): if that place was made for this machine, start it with the \
                --listen of that URL (or remove replica \(replicaID) and add it again at this one); otherwise give this \
                machine another --id
                """)
        }
        var witnesses: [Int] = []
        var unanswered: [Int] = []
        var blank: [Int] = []
        var vouching: [String] = []
        for member in members {
            guard let id = member["id"] as? Int, id != replicaID, let memberURL = member["url"] as? String else { continue }
            guard let answer = calls.call(.GET, "\(memberURL)/internal/identity?asker=\(replicaID)"),
                answer.status == 200, let json = answer.json()
            else {
                unanswered.append(id)
                continue
            }
            switch json["cluster_id"] {
            case let answered as String where answered == clusterID:
                if json["heard_from_asker"] as? Bool == true { witnesses.append(id) }
                vouching.append(memberURL)
            case is NSNull:
                // Raft state without an identity row (an earlier version's directory) remembers.
                if json["heard_from_asker"] as? Bool == true { witnesses.append(id) } else { blank.append(id) }
            default:
                unanswered.append(id)
            }
        }
        if !witnesses.isEmpty { throw refusalForWipedReplica(witnesses: witnesses, clusters: [clusterID]) }
        // Only a learner can be one that never ran. A voter's record of having run may live only
        // in leaders since removed, and a voter that forgot its votes and acknowledgements is the
        // very harm this guards against; a learner's are never counted.
        if listed["role"] as? String == "voter" { throw refusalForWipedReplica(witnesses: [], clusters: [clusterID]) }
        // A member with no data yet (another one added before it started, waiting like this
        // one) may vouch only if it never ran either: no member with data has heard from it.
        // One wiped after it ran has forgotten whom it heard from.
        for id in blank {
            let neverRan = vouching.allSatisfy { url in
                guard let answer = calls.call(.GET, "\(url)/internal/identity?asker=\(id)"), answer.status == 200,
                    let json = answer.json(), json["cluster_id"] as? String == clusterID
                else { return false }
                return json["heard_from_asker"] as? Bool == false
            }
            if !neverRan { unanswered.append(id) }
        }
        guard unanswered.isEmpty else {
            return .waiting("""
                replica \(replicaID) is already a member of cluster \(clusterID): waiting for replicas \
                \(unanswered.map(String.init).joined(separator: ", ")) to confirm they never heard from it
                """)
        }
        logger.notice("replica \(replicaID) is already a member of cluster \(clusterID) and no member has heard from it: taking its place")
        return .adopted(ReplicaIdentity(
            clusterID: clusterID, replicaID: replicaID, url: ownURL, bootstrapMembership: Membership(),
            joinedAt: Int64(view["configuration_index"] as? Int ?? 0)))
    }
}

extension Membership {
    /// The voters a new cluster of `peers` starts with, each reached at its `--peers` URL.
    init(founding peers: [PeerAddress]) {
        self.init(
            voters: peers.map { NodeID(UInt64($0.id)) },
            addresses: Dictionary(uniqueKeysWithValues: peers.map { (NodeID(UInt64($0.id)), $0.url) }))
    }
}
