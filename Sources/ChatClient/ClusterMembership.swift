import Foundation

/// A replica of the cluster as `GET /v1/cluster` lists it.
public struct ClusterMember: Sendable, Hashable, Codable {
    public var id: Int
    public var url: String
    /// `voter` or `learner`.
    public var role: String
    /// Known on the leader only.
    public var matchIndex: Int64?
    /// Whether it answered the leader lately; known on the leader only.
    public var reachable: Bool?

    enum CodingKeys: String, CodingKey {
        case id, url, role, reachable
        case matchIndex = "match_index"
    }
}

/// One replica's view of the cluster (`GET /v1/cluster`).
public struct ClusterView: Sendable, Hashable, Codable {
    public struct Leader: Sendable, Hashable, Codable {
        public var id: Int
        public var url: String
    }

    public var clusterID: String
    public var id: Int
    public var role: String
    public var term: Int64
    public var leader: Leader?
    public var members: [ClusterMember]

    enum CodingKeys: String, CodingKey {
        case id, role, term, leader, members
        case clusterID = "cluster_id"
    }
}

/// The operator's calls: each carries the cluster secret and is redirected to the leader.
extension ChatAPI {
    public func cluster() async throws -> ClusterView {
        try await perform(Self.clusterRequest, expecting: 200)
    }

    /// The cluster as its leader sees it (the only view with every member's match index), when
    /// a replica can say who leads: the one that answers first may be behind, or removed from
    /// the cluster and know no leader. Else the first answer's view.
    public func clusterAsTheLeaderSeesIt() async throws -> ClusterView {
        let first = try await cluster()
        guard first.leader?.id != first.id else { return first }
        let named = first.leader.flatMap { URL(string: $0.url) }.map { [$0] } ?? []
        for replica in named + client.replicas {
            guard let response = try await client.answer(from: replica, to: Self.clusterRequest), response.status == 200,
                  let view = try? JSONCoding.decoder.decode(ClusterView.self, from: response.body),
                  view.leader?.id == view.id
            else { continue }
            return view
        }
        return first
    }

    private static let clusterRequest = APIRequest(method: .get, path: "/v1/cluster", headers: ["Accept": "application/json"])

    /// `POST /v1/cluster/members`: adds a learner, answered once the change is committed.
    public func addMember(id: Int, url: String, clusterSecret: String) async throws -> ClusterMember {
        struct NewMember: Encodable {
            var id: Int
            var url: String
        }
        var headers = Self.secretHeaders(clusterSecret)
        headers["Content-Type"] = "application/json"
        let request = APIRequest(
            method: .post, path: "/v1/cluster/members", headers: headers,
            body: try JSONCoding.encoder.encode(NewMember(id: id, url: url)))
        return try await perform(request, expecting: 201)
    }

    /// `POST /v1/cluster/members/{id}/promote`: makes a learner that caught up a voter.
    public func promoteMember(id: Int, clusterSecret: String) async throws -> ClusterMember {
        let request = APIRequest(
            method: .post, path: "/v1/cluster/members/\(id)/promote", headers: Self.secretHeaders(clusterSecret))
        return try await perform(request, expecting: 200)
    }

    /// `DELETE /v1/cluster/members/{id}`.
    public func removeMember(id: Int, clusterSecret: String) async throws {
        let request = APIRequest(
            method: .delete, path: "/v1/cluster/members/\(id)", headers: Self.secretHeaders(clusterSecret))
        try await performExpectingNoContent(request)
    }

    private static func secretHeaders(_ secret: String) -> [String: String] {
        ["X-Chat-Cluster-Secret": secret, "Accept": "application/json"]
    }
}
