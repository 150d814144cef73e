import Foundation
import ReplicaCore

/// Answers other replicas: `POST /internal/raft/messages` (a batch of Raft messages for the
/// driver, answered with the driver's replies once it has handled and persisted them) and
/// `POST /internal/raft/state-file` (one piece of a state file for a snapshot), and
/// `GET /internal/identity?asker=N` (which replica answers, the cluster it belongs to, and
/// whether it ever heard from replica N: see `ClusterEntry`). Every call must carry the cluster secret;
/// Raft traffic must also name this replica's cluster.
struct InternalRaftAPI: HTTPRequestHandler {
    static let identityPath = "/internal/identity"

    let secret: String
    let incoming: IncomingSnapshots
    let board: ClusterIdentityBoard
    /// This replica's id: a batch for another one came to the wrong address.
    let replicaID: Int
    /// Hands a batch to the driver, which answers the responder with its replies to the sender.
    let deliver: @Sendable ([RaftMessage], HTTPResponder) -> Void

    /// A peer proves the cluster secret before a byte of its body is read, so a stranger
    /// cannot make this replica buffer up to the 64 MiB peer body limit.
    func screen(_ head: HTTPRequest) -> HTTPResponse? {
        let method = head.path == Self.identityPath ? "GET" : "POST"
        guard head.path == PeerTransport.path || head.path == PeerTransport.stateFilePath || head.path == Self.identityPath
        else {
            return APIError.notFound.response
        }
        guard head.method == method else { return APIError.methodNotAllowed(allowed: [method]).response }
        guard let given = head.header(PeerTransport.secretHeader), Self.constantTimeEquals(given, secret) else {
            return APIError(status: 401, code: "unauthorized", message: "The cluster secret is missing or wrong.").response
        }
        guard head.path != Self.identityPath else { return nil }
        guard let clusterID = board.clusterID else {
            return APIError(status: 503, code: "starting", message: "This replica has not yet joined its cluster.").response
        }
        guard head.header(PeerTransport.clusterIDHeader) == clusterID else {
            return APIError(
                status: 409, code: "wrong_cluster",
                message: "This replica belongs to cluster \(clusterID); the sender names another.").response
        }
        return nil
    }

    func handle(_ request: HTTPRequest) -> HTTPReply {
        if let refusal = screen(request) { return .now(refusal) }
        switch request.path {
        case PeerTransport.path: return receiveMessages(request)
        case Self.identityPath: return identity(request)
        default: return receiveStateFilePiece(request)
        }
    }

    private func identity(_ request: HTTPRequest) -> HTTPReply {
        guard let asker = request.queryValue("asker").flatMap(Int.init), asker >= 1 else {
            return .error(.invalidRequest("asker must be a replica id."))
        }
        var body: [String: Any] = ["heard_from_asker": board.hasHeard(from: asker), "replica_id": replicaID]
        body["cluster_id"] = board.clusterID ?? NSNull()
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return .now(WireFormat.response(200, json: [UInt8](data)))
    }

    private func receiveMessages(_ request: HTTPRequest) -> HTTPReply {
        let messages: [RaftMessage]
        do {
            messages = try RaftWireCodec.decode(request.body)
        } catch {
            return .error(APIError(
                status: 400, code: "invalid_body", message: "The body is not a batch of Raft messages (\(error))."))
        }
        guard let sender = messages.first?.from, messages.allSatisfy({ $0.from == sender }) else {
            return messages.isEmpty
                ? .now(PeerTransport.replyResponse([]))
                : .error(APIError(status: 400, code: "invalid_body", message: "A batch comes from one replica."))
        }
        // Replica ids are positive Ints everywhere else (the driver records the sender as one).
        guard sender.rawValue >= 1, sender.rawValue <= UInt64(Int.max) else {
            return .error(APIError(status: 400, code: "invalid_body", message: "\(sender.rawValue) is not a replica id."))
        }
        if let stray = messages.first(where: { $0.to.rawValue != UInt64(replicaID) }) {
            // A member added with another replica's URL (one machine spelled two ways): without
            // this answer the sender would never learn why its follower does not catch up.
            return .error(APIError(
                status: 421, code: "misdirected",
                message: "These Raft messages are for replica \(stray.to.rawValue); this is replica \(replicaID)."))
        }
        let deliverable = messages.filter(incoming.isDeliverable)
        return .deferred { responder in deliver(deliverable, responder) }
    }

    private func receiveStateFilePiece(_ request: HTTPRequest) -> HTTPReply {
        let number = { (name: String) in request.queryValue(name).flatMap { UInt64($0) } }
        guard let term = number("term"), let index = number("index"), let offset = number("offset"),
              let total = number("total"), offset < Int.max, total < Int.max
        else {
            return .error(APIError(
                status: 400, code: "invalid_request", message: "term, index, offset and total must be given as integers."))
        }
        guard let id = request.queryValue("transfer"), StateFileTransfer.isValidID(id),
              let digest = request.queryValue("sha256"), StateFileTransfer.isValidDigest(digest)
        else {
            return .error(APIError(
                status: 400, code: "invalid_request",
                message: "A piece names its transfer (1 to 64 of 0-9 a-f -) and the file's sha256 (64 lowercase hex digits)."))
        }
        let transfer = StateFileTransfer(
            metadata: SnapshotMetadata(index: LogIndex(index), term: Term(term)), id: id, totalBytes: Int(total),
            sha256: digest)
        // Writing a piece (up to 4 MiB) is disk I/O: off the epoll thread.
        return .later { [incoming] in
            do {
                switch try incoming.receive(request.body, at: Int(offset), of: transfer) {
                case .accepted, .complete:
                    return HTTPResponse(status: 204)
                case .checksumMismatch:
                    return APIError(
                        status: 422, code: "checksum_mismatch",
                        message: "The state file does not match its sha256; it was discarded.").response
                case .outOfOrder(let expected):
                    return APIError(
                        status: 409, code: "out_of_order",
                        message: "This piece does not continue the file; expected offset \(expected).").response
                }
            } catch {
                return APIError(status: 507, code: "storage_failed", message: "The state file could not be written: \(error).")
                    .response
            }
        }
    }

    static func constantTimeEquals(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8)
        let b = Array(right.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
