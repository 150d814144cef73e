import Crypto
import Foundation
import Testing
@testable import Gateway
import ReplicaCore

@Suite struct StateFilePieceTests {
    /// A piece is up to 4 MiB written to disk: the epoll thread hands it on instead.
    @Test func aStateFilePieceIsWrittenOffTheEpollThread() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pieces-\(UUID().uuidString)")
        let api = InternalRaftAPI(
            secret: "secret", incoming: try IncomingSnapshots(directory: directory),
            board: ClusterIdentityBoard(clusterID: "c", heardFrom: []), replicaID: 1) { _, _ in }
        let request = HTTPRequest(
            method: "POST", path: PeerTransport.stateFilePath,
            query: [
                ("term", "1"), ("index", "5"), ("offset", "0"), ("total", "3"), ("transfer", "a1"),
                ("sha256", StateFileTransfer.hex(SHA256.hash(data: [1, 2, 3] as [UInt8]))),
            ],
            headers: [PeerTransport.secretHeader.lowercased(): "secret", PeerTransport.clusterIDHeader.lowercased(): "c"],
            body: [1, 2, 3])
        guard case .later(let work) = api.handle(request) else {
            Issue.record("a state-file piece was written on the epoll thread")
            return
        }
        #expect(await work().status == 204)
    }
}

/// Raft batches that name impossible replicas are refused before they reach the driver.
@Suite struct RaftBatchScreeningTests {
    /// The driver records a batch's sender as an Int; one past Int.max would trap there.
    @Test(arguments: [UInt64(0), UInt64(Int.max) + 1, UInt64.max])
    func aBatchFromAnImpossibleReplicaIdIsRefused(_ sender: UInt64) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)")
        let api = InternalRaftAPI(
            secret: "secret", incoming: try IncomingSnapshots(directory: directory),
            board: ClusterIdentityBoard(clusterID: "c", heardFrom: []), replicaID: 1) { _, _ in
                Issue.record("a batch from replica \(sender) reached the driver")
            }
        let heartbeat = RaftMessage(from: NodeID(rawValue: sender), to: 1, term: 3, kind: .heartbeat(Heartbeat(commit: 5)))
        let request = HTTPRequest(
            method: "POST", path: PeerTransport.path,
            headers: [PeerTransport.secretHeader.lowercased(): "secret", PeerTransport.clusterIDHeader.lowercased(): "c"],
            body: RaftWireCodec.encode([heartbeat]))
        guard case .now(let response) = api.handle(request) else {
            Issue.record("a batch from replica \(sender) was taken")
            return
        }
        #expect(response.status == 400)
    }
}
