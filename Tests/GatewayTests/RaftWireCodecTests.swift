import Testing
@testable import Gateway
import ReplicaCore

@Suite struct RaftWireCodecTests {
    static let everyKind: [RaftMessage.Kind] = [
        .voteRequest(VoteRequest(lastLogIndex: 9, lastLogTerm: 3, isLeadershipTransfer: true)),
        .voteResponse(VoteResponse(granted: true)),
        .preVoteRequest(VoteRequest(lastLogIndex: LogIndex(1 << 40), lastLogTerm: 7)),
        .preVoteResponse(VoteResponse(granted: false)),
        .append(AppendRequest(
            previousLogIndex: 10, previousLogTerm: 2,
            entries: [Entry(term: 2, index: 11), Entry(term: 3, index: 12, data: Array(0...255))], commit: 11)),
        .append(AppendRequest(previousLogIndex: 0, previousLogTerm: 0, entries: [], commit: 0)),
        .appendResponse(AppendResponse(index: 12)),
        .appendResponse(AppendResponse(index: 4, rejection: AppendRejection(hintIndex: 3, hintTerm: 1))),
        .heartbeat(Heartbeat(commit: 5, readSequence: 77)),
        .heartbeat(Heartbeat(commit: 5)),
        .heartbeatResponse(HeartbeatResponse(readSequence: .max)),
        .heartbeatResponse(HeartbeatResponse()),
        .snapshotChunk(SnapshotChunk(
            metadata: SnapshotMetadata(index: 100, term: 4), offset: 3, totalByteCount: 6, data: [1, 2, 3], isLast: true)),
        .snapshotResponse(SnapshotResponse(metadata: SnapshotMetadata(index: 100, term: 4), nextOffset: 6)),
        .readIndex(ReadIndexRequest(context: 42)),
        .readIndexResponse(ReadIndexResponse(context: 42, index: 99)),
        .timeoutNow,
        .transferLeader(TransferLeaderRequest(target: 3)),
    ]

    var messages: [RaftMessage] {
        Self.everyKind.enumerated().map { position, kind in
            RaftMessage(from: NodeID(UInt64(position % 3 + 1)), to: 2, term: Term(UInt64(position) * 1_000_003), kind: kind)
        }
    }

    @Test func everyKindOfMessageSurvivesARoundTrip() throws {
        #expect(try RaftWireCodec.decode(RaftWireCodec.encode(messages)) == messages)
    }

    @Test func anEmptyBatchSurvivesARoundTrip() throws {
        #expect(try RaftWireCodec.decode(RaftWireCodec.encode([])) == [])
    }

    @Test func theWireVersionIsKeptSoTheReceiverCanDropWhatItDoesNotSpeak() throws {
        var message = messages[0]
        message.version = 9
        #expect(try RaftWireCodec.decode(RaftWireCodec.encode([message])).first?.version == 9)
    }

    @Test func everyTruncationIsRejected() {
        let bytes = RaftWireCodec.encode(messages)
        for length in 0..<bytes.count {
            #expect(throws: RaftWireCodec.DecodingError.self, "a body cut at \(length) bytes was accepted") {
                try RaftWireCodec.decode(Array(bytes.prefix(length)))
            }
        }
    }

    @Test func trailingBytesAreRejected() {
        #expect(throws: RaftWireCodec.DecodingError.trailingBytes) {
            try RaftWireCodec.decode(RaftWireCodec.encode(messages) + [0])
        }
    }

    @Test func anUnknownKindIsRejected() {
        var bytes = RaftWireCodec.encode([RaftMessage(from: 1, to: 2, term: 1, kind: .timeoutNow)])
        bytes[bytes.count - 1] = 200
        #expect(throws: RaftWireCodec.DecodingError.unknownTag(200)) { try RaftWireCodec.decode(bytes) }
    }

    @Test func anAbsurdCountIsRejectedWithoutAllocatingForIt() {
        #expect(throws: RaftWireCodec.DecodingError.truncated) { try RaftWireCodec.decode([255, 255, 255, 255]) }
    }
}
