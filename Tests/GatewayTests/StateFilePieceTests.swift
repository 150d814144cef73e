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
