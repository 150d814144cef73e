import Testing
@testable import ReplicaCore

/// `MemoryRaftStorage` semantics and restarting a replica from storage.
@Suite(.recordsCoreInvariants) struct StorageAndRestartTests {
    @Test func entriesRespectByteLimitButReturnAtLeastOne() throws {
        let storage = MemoryRaftStorage()
        storage.append((1...5).map { Entry(term: 1, index: LogIndex($0), data: [UInt8](repeating: 0, count: 10)) })
        #expect(try storage.entries(in: 1..<6, maxBytes: 0).count == 1)
        #expect(try storage.entries(in: 1..<6, maxBytes: 52).count == 2)
        #expect(try storage.entries(in: 1..<6, maxBytes: .max).count == 5)
    }

    @Test func compactionKeepsTheTermBeforeTheFirstIndex() throws {
        let storage = storage(withTerms: [1, 1, 2, 2, 3])
        try storage.createSnapshot(at: 3, data: [1])
        try storage.compact(upTo: 3)
        #expect(storage.firstIndex() == 4)
        #expect(try storage.term(at: 3) == 2)
        #expect(throws: RaftStorageError.compacted) { try storage.term(at: 2) }
        #expect(throws: RaftStorageError.compacted) { try storage.entries(in: 3..<5, maxBytes: .max) }
        #expect(throws: RaftStorageError.unavailable) { try storage.term(at: 6) }
    }

    @Test func compactionBeyondTheSnapshotIsRefused() {
        let storage = storage(withTerms: [1, 1, 1])
        #expect(throws: RaftStorageError.indexOutOfRange) { try storage.compact(upTo: 2) }
    }

    @Test func appendOverwritesTheConflictingSuffix() throws {
        let storage = storage(withTerms: [1, 1, 1, 1])
        storage.append(entries([(3, 2)]))
        #expect(storage.lastIndex() == 3)
        #expect(try storage.term(at: 3) == 2)
    }

    @Test func restartedReplicaRecoversTermVoteLogAndCommit() throws {
        let storage = MemoryRaftStorage()
        let first = makeNode(1, voters: [1], storage: storage)
        first.campaign()
        _ = try first.propose([5])
        _ = first.takeCommittedEntries()
        let before = first.status()
        let restarted = makeNode(1, voters: [1], storage: storage) { $0.appliedIndex = 1 }
        let after = restarted.status()
        #expect(after.term == before.term)
        #expect(after.vote == 1)
        #expect(after.commit == before.commit)
        #expect(after.lastIndex == before.lastIndex)
        #expect(after.role == .follower)
        #expect(restarted.takeCommittedEntries().map(\.data) == [[5]], "entries after the applied index are applied again")
    }

    @Test func restartFromSnapshotStartsAfterIt() throws {
        let storage = storage(withTerms: [1, 1, 1], hardState: HardState(term: 1, commit: 3))
        try storage.createSnapshot(at: 2, data: [42])
        try storage.compact(upTo: 2)
        let node = makeNode(1, storage: storage) { $0.appliedIndex = 2 }
        #expect(node.log.firstIndex() == 3)
        #expect(node.takeCommittedEntries().map(\.index) == [3])
    }

    @Test func appliedIndexBeyondTheStoredLogIsRefused() {
        let storage = storage(withTerms: [1, 1], hardState: HardState(term: 1, commit: 1))
        var config = RaftConfig(id: 1, voters: [1, 2, 3])
        config.appliedIndex = 3
        #expect(throws: RaftConfigError.appliedIndexOutOfRange(applied: 3, lastIndex: 2)) {
            _ = try RaftNode(config: config, storage: storage)
        }
    }

    @Test func appliedIndexAboveALostLazyCommitRaisesTheCommitIndex() {
        let storage = storage(withTerms: [1, 1, 1], hardState: HardState(term: 1, commit: 1))
        let node = makeNode(1, storage: storage) { $0.appliedIndex = 2 }
        #expect(node.log.committed == 2)
        #expect(node.log.applied == 2)
    }

    @Test func followerAssemblesChunkedSnapshotAndSurfacesItInReady() {
        let node = makeNode(2)
        let metadata = SnapshotMetadata(index: 10, term: 2)
        let data: [UInt8] = Array(0..<10)
        func chunk(_ offset: Int) -> RaftMessage {
            let end = min(offset + 4, data.count)
            return message(from: 1, to: 2, term: 2, .snapshotChunk(SnapshotChunk(
                metadata: metadata, offset: offset, totalByteCount: data.count,
                data: Array(data[offset..<end]), isLast: end == data.count)))
        }
        node.step(chunk(0))
        node.step(chunk(8))  // out of order: the chunk at 4 was lost
        let acknowledgements = node.takeMessages().compactMap { message -> Int? in
            if case .snapshotResponse(let response) = message.kind { return response.nextOffset }
            return nil
        }
        #expect(acknowledgements == [4, 4], "the follower asks again for the lost chunk")
        node.step(chunk(4))
        node.step(chunk(8))
        let ready = node.processReady()
        #expect(ready.snapshot == Snapshot(metadata: metadata, data: data))
        #expect(node.log.committed == 10)
        #expect(node.log.applied == 10)
        #expect(node.memoryStorage.firstIndex() == 11)
    }

    @Test func configuredLimitsAreHonouredByReadyCommittedEntries() throws {
        let node = makeNode(1, voters: [1]) { $0.maxCommittedBytesPerReady = 1 }
        node.campaign()
        for value in 0..<3 { _ = try node.propose([UInt8(value)]) }
        var batches: [[LogIndex]] = []
        while node.hasReady {
            let ready = node.processReady()
            if !ready.committedEntries.isEmpty { batches.append(ready.committedEntries.map(\.index)) }
        }
        #expect(batches == [[1], [2], [3], [4]])
    }
}
