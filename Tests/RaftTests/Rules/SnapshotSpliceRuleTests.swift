import Testing
@testable import ReplicaCore

/// A follower's partial snapshot is forgotten when the term changes: a new leader's snapshot at
/// the same (index, term) may hold other bytes, and pieces of the two are never joined.
@Suite(.recordsCoreInvariants) struct SnapshotSpliceRuleTests {
    @Test func chunksOfTwoLeadersSnapshotsAreNeverSplicedTogether() {
        let follower = makeNode(1, storage: storage(withTerms: [1], hardState: HardState(term: 2, commit: 1)))
        let metadata = SnapshotMetadata(index: 20, term: 2)
        // Leader n2 (term 2) sends the first 4 bytes of its snapshot, then fails.
        let fromTwo = [UInt8](repeating: 0xAA, count: 12)
        follower.step(RaftMessage(from: 2, to: 1, term: 2, kind: .snapshotChunk(SnapshotChunk(
            metadata: metadata, offset: 0, totalByteCount: 12, data: Array(fromTwo[0..<4]), isLast: false))))
        // Leader n3 (term 3) made its own snapshot at the same index: same metadata, other bytes.
        let fromThree = [UInt8](repeating: 0xBB, count: 12)
        var installed: Snapshot?
        var offset = 0
        for _ in 0..<6 {
            let end = min(offset + 4, 12)
            follower.step(RaftMessage(from: 3, to: 1, term: 3, kind: .snapshotChunk(SnapshotChunk(
                metadata: metadata, offset: offset, totalByteCount: 12, data: Array(fromThree[offset..<end]),
                isLast: end == 12))))
            while follower.hasReady {
                let ready = follower.processReady()
                installed = ready.snapshot ?? installed
                for message in ready.messages {
                    if let next = message.snapshotResponse?.nextOffset { offset = next }
                }
            }
            if installed != nil { break }
        }
        #expect(
            installed == nil || installed?.data == fromThree,
            "the follower installed bytes no leader sent: \(installed?.data.map { String($0, radix: 16) } ?? [])")
    }
}
