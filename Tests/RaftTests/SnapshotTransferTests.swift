import Testing
@testable import ReplicaCore

/// The leader's side of chunked InstallSnapshot.
@Suite(.recordsCoreInvariants) struct SnapshotTransferTests {
    /// A leader of term 2 whose log was compacted up to index 20, with a
    /// 40-byte snapshot, talking to follower 2 which has nothing.
    private func makeLeaderNeedingSnapshot(chunkBytes: Int = 8, window: Int = 2) throws -> RaftNode {
        let storage = storage(withTerms: Array(repeating: 1, count: 20), hardState: HardState(term: 1, commit: 20))
        try storage.createSnapshot(at: 20, data: Array(0..<40))
        try storage.compact(upTo: 20)
        let node = makeNode(1, storage: storage) {
            $0.snapshotChunkBytes = chunkBytes
            $0.maxSnapshotChunksInFlight = window
            $0.appliedIndex = 20
        }
        node.becomeLeaderForTest()
        _ = node.takeMessages()
        // Follower 2 answers a heartbeat (so it counts as active) and rejects the probe.
        node.step(message(from: 2, to: 1, term: node.term, .heartbeatResponse(HeartbeatResponse())))
        node.step(message(
            from: 2, to: 1, term: node.term,
            .appendResponse(AppendResponse(index: 20, rejection: AppendRejection(hintIndex: 0, hintTerm: 0)))))
        return node
    }

    private func chunks(in messages: [RaftMessage]) -> [SnapshotChunk] {
        messages.compactMap { message in
            if message.to == 2, case .snapshotChunk(let chunk) = message.kind { return chunk }
            return nil
        }
    }

    private func acknowledge(_ node: RaftNode, nextOffset: Int) {
        let metadata = SnapshotMetadata(index: 20, term: 1)
        node.step(message(
            from: 2, to: 1, term: node.term, .snapshotResponse(SnapshotResponse(metadata: metadata, nextOffset: nextOffset))))
    }

    @Test func leaderSendsAWindowOfChunksAndMoreAsTheyAreAcknowledged() throws {
        let node = try makeLeaderNeedingSnapshot()
        #expect(node.progress[2]?.state == .snapshot)
        #expect(chunks(in: node.takeMessages()).map(\.offset) == [0, 8])
        acknowledge(node, nextOffset: 8)
        #expect(chunks(in: node.takeMessages()).map(\.offset) == [16])
        acknowledge(node, nextOffset: 16)
        acknowledge(node, nextOffset: 24)
        let last = chunks(in: node.takeMessages())
        #expect(last.map(\.offset) == [24, 32])
        #expect(last.last?.isLast == true)
    }

    @Test func chunksInFlightAreResentAfterTwoHeartbeatsWithoutProgress() throws {
        let node = try makeLeaderNeedingSnapshot()
        _ = node.takeMessages()
        acknowledge(node, nextOffset: 8)
        _ = node.takeMessages()
        node.step(message(from: 2, to: 1, term: node.term, .heartbeatResponse(HeartbeatResponse())))
        #expect(chunks(in: node.takeMessages()).isEmpty)
        node.step(message(from: 2, to: 1, term: node.term, .heartbeatResponse(HeartbeatResponse())))
        #expect(chunks(in: node.takeMessages()).map(\.offset) == [8, 16])
    }

    @Test func followerThatLostItsPartialCopyMakesTheLeaderStartOver() throws {
        let node = try makeLeaderNeedingSnapshot()
        _ = node.takeMessages()
        acknowledge(node, nextOffset: 16)
        _ = node.takeMessages()
        acknowledge(node, nextOffset: 0)
        #expect(chunks(in: node.takeMessages()).map(\.offset) == [0, 8])
    }

    @Test func aGapIsResentOnceNotForEveryOutOfOrderChunk() throws {
        let node = try makeLeaderNeedingSnapshot(window: 4)
        _ = node.takeMessages()
        acknowledge(node, nextOffset: 8)
        _ = node.takeMessages()
        // The chunk at 8 was lost; the follower answers the next ones with 8.
        acknowledge(node, nextOffset: 8)
        let resent = chunks(in: node.takeMessages()).map(\.offset)
        acknowledge(node, nextOffset: 8)
        acknowledge(node, nextOffset: 8)
        #expect(resent.first == 8)
        #expect(chunks(in: node.takeMessages()).isEmpty)
    }

    @Test func installedSnapshotReturnsFollowerToReplication() throws {
        let node = try makeLeaderNeedingSnapshot()
        _ = node.takeMessages()
        node.step(message(from: 2, to: 1, term: node.term, .appendResponse(AppendResponse(index: 20))))
        #expect(node.progress[2]?.state == .replicate)
        #expect(node.progress[2]?.match == 20)
    }
}
