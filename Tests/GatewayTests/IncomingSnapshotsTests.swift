import Foundation
import Testing
@testable import Gateway
import ReplicaCore

@Suite struct IncomingSnapshotsTests {
    let metadata = SnapshotMetadata(index: 120, term: 3)

    func makeIncoming() throws -> IncomingSnapshots {
        try IncomingSnapshots(directory: FileManager.default.temporaryDirectory.appendingPathComponent("incoming-\(UUID().uuidString)"))
    }

    @Test func aFileIsCompleteOnlyAfterItsLastPiece() throws {
        let incoming = try makeIncoming()
        #expect(try incoming.receive([1, 2, 3], at: 0, of: 5, for: metadata) == .accepted)
        #expect(incoming.completedFile(for: metadata) == nil, "a partial file must not count as complete")
        #expect(try incoming.receive([4, 5], at: 3, of: 5, for: metadata) == .complete)
        let file = try #require(incoming.completedFile(for: metadata))
        #expect(Array(try Data(contentsOf: file)) == [1, 2, 3, 4, 5])
    }

    @Test func aPieceThatDoesNotContinueTheFileIsRefusedWithTheExpectedOffset() throws {
        let incoming = try makeIncoming()
        _ = try incoming.receive([1, 2, 3], at: 0, of: 9, for: metadata)
        #expect(try incoming.receive([7, 8], at: 5, of: 9, for: metadata) == .outOfOrder(expectedOffset: 3))
        let other = SnapshotMetadata(index: 130, term: 3)
        #expect(try incoming.receive([7, 8], at: 3, of: 9, for: other) == .outOfOrder(expectedOffset: 0))
        #expect(try incoming.receive([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], at: 3, of: 9, for: metadata) == .outOfOrder(expectedOffset: 3),
                "a piece may not run past the announced size")
    }

    @Test func offsetZeroStartsTheFileOver() throws {
        let incoming = try makeIncoming()
        _ = try incoming.receive([1, 2, 3], at: 0, of: 4, for: metadata)
        #expect(try incoming.receive([9, 9, 9, 9], at: 0, of: 4, for: metadata) == .complete)
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
        _ = try incoming.receive([1, 2], at: 0, of: 3, for: metadata)
        #expect(!incoming.isDeliverable(snapshot), "a partial file")
        _ = try incoming.receive([3], at: 2, of: 3, for: metadata)
        #expect(incoming.isDeliverable(snapshot))
    }

    @Test func installedAndOvertakenFilesAreRemoved() throws {
        let incoming = try makeIncoming()
        let later = SnapshotMetadata(index: 200, term: 4)
        _ = try incoming.receive([1], at: 0, of: 1, for: metadata)
        _ = try incoming.receive([2], at: 0, of: 1, for: later)
        incoming.removeCompleted(upTo: 150)
        #expect(incoming.completedFile(for: metadata) == nil)
        #expect(incoming.completedFile(for: later) != nil)
    }
}
