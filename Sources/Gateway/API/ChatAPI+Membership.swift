import Foundation

/// The operator's configuration changes: `POST /v1/cluster/members`,
/// `POST /v1/cluster/members/{id}/promote`, `DELETE /v1/cluster/members/{id}`. Each needs
/// the cluster secret in `X-Chat-Cluster-Secret`, goes to the leader (307 from a follower),
/// and answers once the change is committed.
extension ChatAPI {
    static let clusterSecretHeader = "X-Chat-Cluster-Secret"

    /// Why `request` may not make this call: no cluster secret, or the wrong one; nil when it
    /// carries the secret. Checked before its body is read.
    func clusterSecretRefusal(_ request: HTTPRequest) -> APIError? {
        guard let secret = dependencies.clusterSecret, !secret.isEmpty else { return Self.noClusterSecret }
        // Blanks around a header's value are not part of it (RFC 9110 §5.5).
        guard let given = request.header(Self.clusterSecretHeader).map({ String($0.trimmingBlanks) }), !given.isEmpty else {
            return Self.missingClusterSecret
        }
        return InternalRaftAPI.constantTimeEquals(given, secret) ? nil : Self.wrongClusterSecret
    }

    static let missingClusterSecret = APIError(
        status: 401, code: "unauthorized", message: "This call needs the cluster secret in X-Chat-Cluster-Secret.")
    static let noClusterSecret = APIError(
        status: 401, code: "unauthorized",
        message: "This replica has no cluster secret (--cluster-secret-file), so it takes no operator calls.")
    static let wrongClusterSecret = APIError(
        status: 401, code: "unauthorized", message: "The cluster secret in X-Chat-Cluster-Secret is wrong.")

    func addMember(_ context: RouteContext) -> HTTPReply {
        if let refusal = clusterSecretRefusal(context.request) { return .error(refusal) }
        let member: RequestBodies.NewMember
        do throws(APIError) {
            member = try RequestDecoding.body(RequestBodies.NewMember.self, from: context.request)
        } catch {
            return .error(error)
        }
        guard (1...Int(Int32.max)).contains(member.id) else {
            return .error(.invalidRequest("id must be a replica id from 1 to \(Int32.max)."))
        }
        guard let url = try? PeerList.parseURL(member.url) else {
            return .error(.invalidRequest("url must be an http://host:port or https://host:port URL where the replica is reached."))
        }
        if let host = try? ReplicaService.hostAndPort(of: url).host, ["0.0.0.0", "::"].contains(host) {
            return .error(.invalidRequest("url names a wildcard address (\(host)), which no replica can be reached at; give the member's own address."))
        }
        // Every replica of a cluster serves one scheme (a replica refuses to start otherwise).
        let status = dependencies.replicator.status()
        if let own = status.members.first(where: { $0.address.id == status.id }).flatMap({ URLComponents(string: $0.address.url)?.scheme }),
           URLComponents(string: url)?.scheme?.lowercased() != own {
            return .error(.invalidRequest("url must be an \(own):// URL, as every replica of this cluster serves \(own)."))
        }
        return change(.add(id: member.id, url: url), context: context, status: 201)
    }

    func promoteMember(_ context: RouteContext) -> HTTPReply {
        if let refusal = clusterSecretRefusal(context.request) { return .error(refusal) }
        guard let id = Self.memberID(context) else { return .error(.invalidRequest("The id in the path must be a replica id.")) }
        return change(.promote(id: id), context: context, status: 200)
    }

    func removeMember(_ context: RouteContext) -> HTTPReply {
        if let refusal = clusterSecretRefusal(context.request) { return .error(refusal) }
        guard let id = Self.memberID(context) else { return .error(.invalidRequest("The id in the path must be a replica id.")) }
        return change(.remove(id: id), context: context, status: 204)
    }

    private static func memberID(_ context: RouteContext) -> Int? {
        guard let text = context.parameters["id"], let id = Int(text), (1...Int(Int32.max)).contains(id) else { return nil }
        return id
    }

    private func change(_ change: MembershipChange, context: RouteContext, status: Int) -> HTTPReply {
        if let redirect = routeWrite(context.request) { return .error(redirect) }
        return later { [self] () async throws(APIError) -> HTTPResponse in
            let member: ClusterStatus.Member?
            do throws(MembershipChangeError) {
                member = try await dependencies.replicator.changeMembership(change)
            } catch {
                throw apiError(for: error, request: context.request)
            }
            guard status != 204 else { return WireFormat.noContent() }
            guard let member else { throw APIError.internalError("The changed member is not in the configuration.") }
            var body = WireFormat.Cluster.Member(member)
            if case .add = change {
                // The configuration in force, in which the change took effect when appended.
                let status = dependencies.replicator.status()
                (body.clusterID, body.configurationIndex) = (status.clusterID, status.configurationIndex)
            }
            return WireFormat.response(status, body)
        }
    }

    func apiError(for error: MembershipChangeError, request: HTTPRequest) -> APIError {
        switch error {
        case .replication(let error): apiError(for: error, request: request)
        case .memberExists(let message): APIError(status: 409, code: "member_exists", message: message)
        case .unknownMember(let id): APIError(status: 404, code: "no_such_member", message: "Replica \(id) is not a member.")
        case .changeInProgress:
            APIError(
                status: 409, code: "change_in_progress",
                message: "Another configuration change is not yet committed (or the leader is new); retry shortly.")
        case .notCaughtUp(let match, let lastIndex):
            APIError(
                status: 409, code: "not_caught_up",
                message: "The learner holds the log up to \(match) of \(lastIndex); promote it once it has caught up.")
        case .refused(let reason): APIError(status: 409, code: "change_refused", message: reason)
        case .votersUnreachable(let reason): APIError(status: 409, code: "voters_unreachable", message: reason)
        }
    }
}

extension WireFormat.Cluster.Member {
    init(_ member: ClusterStatus.Member) {
        self.init(id: member.address.id, url: member.address.url, role: member.role.rawValue, matchIndex: member.matchIndex,
                  reachable: member.isReachable)
    }
}
