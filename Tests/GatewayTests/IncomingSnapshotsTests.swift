import Crypto
import Foundation
import Testing
@testable import Gateway
import ReplicaCore

@Suite struct IncomingSnapshotsTests {
    let metadata = SnapshotMetadata(index: 120, term: 3)

    /// A transfer of `file` for `metadata` (the test's snapshot by default).
    func transfer(of file: [UInt8], id: String = "a1", for snapshot: SnapshotMetadata? = nil) -> StateFileTransfer {
        StateFileTransfer(
            metadata: snapshot ?? metadata, id: id, totalBytes: file.count,
            sha256: StateFileTransfer.hex(SHA256.hash(data: file)))
    }

    func makeIncoming() throws -> IncomingSnapshots {
        try IncomingSnapshots(directory: FileManager.default.temporaryDirectory.appendingPathComponent("incoming-\(UUID().uuidString)"))
    }

    @Test func aFileIsCompleteOnlyAfterItsLastPiece() throws {
        let incoming = try makeIncoming()
        let upload = transfer(of: [1, 2, 3, 4, 5])
        #expect(try incoming.receive([1, 2, 3], at: 0, of: upload) == .accepted)
        #expect(incoming.completedFile(for: metadata) == nil, "a partial file must not count as complete")
        #expect(try incoming.receive([4, 5], at: 3, of: upload) == .complete)
        let file = try #require(incoming.completedFile(for: metadata))
        #expect(Array(try Data(contentsOf: file)) == [1, 2, 3, 4, 5])
    }

    @Test func aPieceThatDoesNotContinueTheFileIsRefusedWithTheExpectedOffset() throws {
        let incoming = try makeIncoming()
        let upload = transfer(of: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        _ = try incoming.receive([1, 2, 3], at: 0, of: upload)
        #expect(try incoming.receive([7, 8], at: 5, of: upload) == .outOfOrder(expectedOffset: 3))
        let other = transfer(of: [1, 2, 3, 4, 5, 6, 7, 8, 9], for: SnapshotMetadata(index: 130, term: 3))
        #expect(try incoming.receive([7, 8], at: 3, of: other) == .outOfOrder(expectedOffset: 0))
        #expect(try incoming.receive([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], at: 3, of: upload) == .outOfOrder(expectedOffset: 3),
                "a piece may not run past the announced size")
    }

    @Test func offsetZeroStartsTheFileOver() throws {
        let incoming = try makeIncoming()
        _ = try incoming.receive([1, 2, 3], at: 0, of: transfer(of: [1, 2, 3, 4]))
        #expect(try incoming.receive([9, 9, 9, 9], at: 0, of: transfer(of: [9, 9, 9, 9], id: "b2")) == .complete)
        let file = try #require(incoming.completedFile(for: metadata))
        #expect(Array(try Data(contentsOf: file)) == [9, 9, 9, 9])
    }

    @Test func aSnapshotMessageIsDeliverableOnlyOnceItsWholeFileIsHere() throws {
        let incoming = try makeIncoming()
        let snapshot = RaftMessage(from: 1, to: 2, term: 3, kind: .snapshotChunk(SnapshotChunk(
            metadata: metadata, offset: 0, totalByteCount: 0, data: [], isLast: true)))
        let heartbeat = RaftMessage(from: 1, to: 2, term: 3, kind: .heartbeat(Heartbeat(commit: 5)))
        #expect(incoming.isDeliverable(heartbeat))
        #expect(!incoming.isDeliverable(snapshot), "no file yet")
        let upload = transfer(of: [1, 2, 3])
        _ = try incoming.receive([1, 2], at: 0, of: upload)
        #expect(!incoming.isDeliverable(snapshot), "a partial file")
        _ = try incoming.receive([3], at: 2, of: upload)
        #expect(incoming.isDeliverable(snapshot))
    }

    @Test func installedAndOvertakenFilesAreRemoved() throws {
        let incoming = try makeIncoming()
        let later = SnapshotMetadata(index: 200, term: 4)
        _ = try incoming.receive([1], at: 0, of: transfer(of: [1]))
        _ = try incoming.receive([2], at: 0, of: transfer(of: [2], for: later))
        incoming.removeCompleted(upTo: 150)
        #expect(incoming.completedFile(for: metadata) == nil)
        #expect(incoming.completedFile(for: later) != nil)
    }

    /// Two leaders, one after the other, each send a file for the same snapshot: the pieces of
    /// one transfer are never joined to the other's.
    @Test func piecesOfTwoTransfersForOneSnapshotAreNeverJoined() throws {
        let incoming = try makeIncoming()
        let first = transfer(of: [1, 1, 1, 1, 1, 1], id: "aa")
        let second = transfer(of: [2, 2, 2, 2, 2, 2], id: "bb")
        #expect(try incoming.receive([1, 1], at: 0, of: first) == .accepted)
        #expect(try incoming.receive([2, 2], at: 0, of: second) == .accepted, "a new transfer starts over")
        #expect(try incoming.receive([1, 1], at: 2, of: first) == .outOfOrder(expectedOffset: 0), "the old one is gone")
        #expect(try incoming.receive([2, 2], at: 2, of: second) == .accepted)
        #expect(try incoming.receive([1, 1], at: 4, of: first) == .outOfOrder(expectedOffset: 0))
        #expect(try incoming.receive([2, 2], at: 4, of: second) == .complete)
        let file = try #require(incoming.completedFile(for: metadata))
        #expect(Array(try Data(contentsOf: file)) == [2, 2, 2, 2, 2, 2])
    }

    @Test func aFileIsInstalledOnlyWhenItsChecksumMatches() throws {
        let incoming = try makeIncoming()
        var upload = transfer(of: [1, 2, 3, 4])
        upload.sha256 = StateFileTransfer.hex(SHA256.hash(data: [1, 2, 3, 5] as [UInt8]))
        #expect(try incoming.receive([1, 2], at: 0, of: upload) == .accepted)
        #expect(try incoming.receive([3, 4], at: 2, of: upload) == .checksumMismatch)
        #expect(incoming.completedFile(for: metadata) == nil, "a file that is not what was sent is never installed")
    }
}
