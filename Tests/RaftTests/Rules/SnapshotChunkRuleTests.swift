import Testing
@testable import ReplicaCore

/// InstallSnapshot in chunks (Raft §7), at the follower: chunks are accepted
/// only in order and each is acknowledged with the offset expected next; the
/// last one installs the snapshot and is answered like a successful append; a
/// snapshot the follower's commit index already covers is answered at once as
/// a successful append at that commit index.
@Suite(.recordsCoreInvariants) struct SnapshotChunkRuleTests {
    /// Snapshots the leader (n2, term 2) may send; the follower's log is [1, 1, 1] with commit 2.
    enum SnapshotName: String, Sendable {
        /// Index 10, term 2, beyond the follower's log.
        case ahead
        /// Index 12, term 2: a newer one.
        case newer
        /// Index 3, term 1: the follower holds its last entry, uncommitted.
        case heldEntry
        /// Index 2: exactly the follower's commit index.
        case atCommit
        /// Index 1: below it.
        case belowCommit

        var metadata: SnapshotMetadata {
            switch self {
            case .ahead: SnapshotMetadata(index: 10, term: 2)
            case .newer: SnapshotMetadata(index: 12, term: 2)
            case .heldEntry: SnapshotMetadata(index: 3, term: 1)
            case .atCommit: SnapshotMetadata(index: 2, term: 1)
            case .belowCommit: SnapshotMetadata(index: 1, term: 1)
            }
        }

        /// Twelve bytes, distinct per snapshot.
        var data: [UInt8] { (0..<12).map { UInt8($0) &+ UInt8(metadata.index.rawValue &* 16) } }
    }

    enum Reply: Equatable, CustomStringConvertible, Sendable {
        /// A snapshot response asking for the chunk at this offset.
        case next(Int)
        /// An append response acknowledging this index.
        case appended(UInt64)

        var description: String {
            switch self {
            case .next(let offset): "next \(offset)"
            case .appended(let index): "appended i\(index)"
            }
        }
    }

    struct ChunkCase: CustomTestStringConvertible, Sendable {
        var name: String
        /// Chunks in arrival order: (snapshot, offset); every chunk but a last one is 4 bytes.
        var chunks: [(snapshot: SnapshotName, offset: Int)]
        var chunkBytes = 4
        var replies: [Reply]
        var installed: SnapshotName?
        var expectedCommit: UInt64
        var expectedLastIndex: UInt64

        var testDescription: String {
            "\(name): chunks \(chunks.map { "\($0.snapshot)@\($0.offset)" })"
        }
    }

    static let cases: [ChunkCase] = [
        ChunkCase(
            name: "in order", chunks: [(.ahead, 0), (.ahead, 4), (.ahead, 8)],
            replies: [.next(4), .next(8), .appended(10)], installed: .ahead, expectedCommit: 10, expectedLastIndex: 10),
        ChunkCase(
            name: "one chunk", chunks: [(.ahead, 0)], chunkBytes: 12,
            replies: [.appended(10)], installed: .ahead, expectedCommit: 10, expectedLastIndex: 10),
        ChunkCase(
            name: "first chunk missing", chunks: [(.ahead, 4)],
            replies: [.next(0)], installed: nil, expectedCommit: 2, expectedLastIndex: 3),
        ChunkCase(
            name: "gap before the last chunk", chunks: [(.ahead, 0), (.ahead, 8)],
            replies: [.next(4), .next(4)], installed: nil, expectedCommit: 2, expectedLastIndex: 3),
        ChunkCase(
            name: "duplicate first chunk", chunks: [(.ahead, 0), (.ahead, 0), (.ahead, 4), (.ahead, 8)],
            replies: [.next(4), .next(4), .next(8), .appended(10)], installed: .ahead, expectedCommit: 10, expectedLastIndex: 10),
        ChunkCase(
            name: "resent chunk after a lost acknowledgement", chunks: [(.ahead, 0), (.ahead, 4), (.ahead, 4), (.ahead, 8)],
            replies: [.next(4), .next(8), .next(8), .appended(10)], installed: .ahead, expectedCommit: 10, expectedLastIndex: 10),
        ChunkCase(
            name: "gap filled by a resend", chunks: [(.ahead, 0), (.ahead, 8), (.ahead, 4), (.ahead, 8)],
            replies: [.next(4), .next(4), .next(8), .appended(10)], installed: .ahead, expectedCommit: 10, expectedLastIndex: 10),
        ChunkCase(
            name: "newer snapshot replaces a partial one", chunks: [(.ahead, 0), (.newer, 0), (.newer, 4), (.newer, 8)],
            replies: [.next(4), .next(4), .next(8), .appended(12)], installed: .newer, expectedCommit: 12, expectedLastIndex: 12),
        ChunkCase(
            name: "middle chunk of another snapshot", chunks: [(.ahead, 0), (.newer, 4)],
            replies: [.next(4), .next(0)], installed: nil, expectedCommit: 2, expectedLastIndex: 3),
        ChunkCase(
            name: "snapshot at the commit index", chunks: [(.atCommit, 0)],
            replies: [.appended(2)], installed: nil, expectedCommit: 2, expectedLastIndex: 3),
        ChunkCase(
            name: "snapshot below the commit index, any chunk", chunks: [(.belowCommit, 4), (.belowCommit, 8)],
            replies: [.appended(2), .appended(2)], installed: nil, expectedCommit: 2, expectedLastIndex: 3),
        ChunkCase(
            name: "covered snapshot drops a partial one", chunks: [(.ahead, 0), (.atCommit, 0), (.ahead, 4)],
            replies: [.next(4), .appended(2), .next(0)], installed: nil, expectedCommit: 2, expectedLastIndex: 3),
        ChunkCase(
            name: "snapshot of an entry the log holds", chunks: [(.heldEntry, 0), (.heldEntry, 4), (.heldEntry, 8)],
            replies: [.next(4), .next(8), .appended(3)], installed: nil, expectedCommit: 3, expectedLastIndex: 3),
    ]

    /// A snapshot whose last entry the follower holds, with more entries after it that the
    /// leader may not have: the follower commits up to the snapshot and acknowledges only that
    /// far, or the leader would count its unchecked tail as matching.
    @Test func snapshotOfAHeldEntryAcknowledgesNoFurtherThanTheSnapshot() {
        let node = makeNode(1, storage: storage(withTerms: [1, 1, 1, 1, 1], hardState: HardState(term: 2, commit: 2)))
        let chunk = SnapshotChunk(
            metadata: SnapshotMetadata(index: 3, term: 1), offset: 0, totalByteCount: 4, data: [1, 2, 3, 4], isLast: true)
        node.step(incoming(.snapshotChunk(chunk), from: 2, term: 2))
        let acknowledged = node.takeMessages().compactMap { $0.appendResponse?.index.rawValue }
        #expect(acknowledged == [3], "snapshot rule broke: acknowledged \(acknowledged) for a snapshot at i3")
        #expect(node.log.committed == 3, "snapshot rule broke: commit \(node.log.committed), expected i3")
    }

    @Test(arguments: cases)
    func followerAssemblesChunksInOrderAndInstallsOnTheLast(_ testCase: ChunkCase) {
        let node = makeNode(1, storage: storage(withTerms: [1, 1, 1], hardState: HardState(term: 2, commit: 2)))
        var replies: [Reply] = []
        var installed: Snapshot?
        for (name, offset) in testCase.chunks {
            let data = name.data
            let end = min(offset + testCase.chunkBytes, data.count)
            let chunk = SnapshotChunk(
                metadata: name.metadata, offset: offset, totalByteCount: data.count, data: Array(data[offset..<end]),
                isLast: end == data.count)
            // Time passes between chunks; each one must restart the election timer.
            node.tick(times: 2)
            node.step(incoming(.snapshotChunk(chunk), from: 2, term: 2))
            #expect(node.leader == 2 && node.electionElapsed == 0, "snapshot rule broke for \(testCase): a chunk did not count as hearing from the leader")
            while node.hasReady {
                let ready = node.processReady()
                installed = ready.snapshot ?? installed
                for message in ready.messages {
                    #expect(message.to == 2 && message.term == 2, "snapshot rule broke for \(testCase): reply \(message.summary)")
                    if let response = message.snapshotResponse {
                        #expect(response.metadata == name.metadata, "snapshot rule broke for \(testCase): acknowledged \(response.metadata) for a chunk of \(name.metadata)")
                        replies.append(.next(response.nextOffset))
                    } else if let response = message.appendResponse, response.rejection == nil {
                        replies.append(.appended(response.index.rawValue))
                    } else {
                        Issue.record("snapshot rule broke for \(testCase): unexpected reply \(message.summary)")
                    }
                }
            }
        }
        #expect(replies == testCase.replies, "snapshot chunk rule broke for \(testCase): replies \(replies), expected \(testCase.replies)")
        let expectedSnapshot = testCase.installed.map { Snapshot(metadata: $0.metadata, data: $0.data) }
        #expect(
            installed == expectedSnapshot,
            "snapshot install rule broke for \(testCase): installed \(String(describing: installed?.metadata)), expected \(String(describing: expectedSnapshot?.metadata))")
        #expect(
            node.log.committed == LogIndex(testCase.expectedCommit) && node.log.lastIndex() == LogIndex(testCase.expectedLastIndex),
            "snapshot rule broke for \(testCase): commit \(node.log.committed) last \(node.log.lastIndex()), expected commit \(testCase.expectedCommit) last \(testCase.expectedLastIndex)")
    }
}
