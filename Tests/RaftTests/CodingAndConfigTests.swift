import Foundation
import Testing
@testable import ReplicaCore

/// Wire format and configuration validation.
@Suite(.recordsCoreInvariants) struct CodingAndConfigTests {
    static let everyKind: [RaftMessage.Kind] = [
        .voteRequest(VoteRequest(lastLogIndex: 3, lastLogTerm: 2, isLeadershipTransfer: true)),
        .voteResponse(VoteResponse(granted: true)),
        .preVoteRequest(VoteRequest(lastLogIndex: 1, lastLogTerm: 1)),
        .preVoteResponse(VoteResponse(granted: false)),
        .append(AppendRequest(
            previousLogIndex: 4, previousLogTerm: 2,
            entries: [Entry(term: 2, index: 5, data: [1, 2, 255]), Entry(term: 2, index: 6)], commit: 4)),
        .appendResponse(AppendResponse(index: 4, rejection: AppendRejection(hintIndex: 2, hintTerm: 1))),
        .appendResponse(AppendResponse(index: 9)),
        .heartbeat(Heartbeat(commit: 3, readSequence: 77)),
        .heartbeatResponse(HeartbeatResponse(readSequence: nil)),
        .snapshotChunk(SnapshotChunk(
            metadata: SnapshotMetadata(index: 10, term: 3), offset: 4, totalByteCount: 8, data: [9, 9, 9, 9],
            isLast: true)),
        .snapshotResponse(SnapshotResponse(metadata: SnapshotMetadata(index: 10, term: 3), nextOffset: 4)),
        .readIndex(ReadIndexRequest(context: .max)),
        .readIndexResponse(ReadIndexResponse(context: 1, index: 8)),
        .timeoutNow,
        .transferLeader(TransferLeaderRequest(target: 3)),
    ]

    @Test(arguments: everyKind)
    func messageRoundTripsThroughJSON(kind: RaftMessage.Kind) throws {
        let original = RaftMessage(from: 1, to: 2, term: 7, kind: kind)
        let encoded = try JSONEncoder().encode(original)
        let decoded = try JSONDecoder().decode(RaftMessage.self, from: encoded)
        #expect(decoded == original)
        #expect(decoded.version == RaftMessage.currentVersion)
    }

    @Test func messageWithUnknownVersionIsDropped() {
        let node = makeNode(1)
        var future = appendMessage(from: 2, term: 3, previous: (0, 0))
        future.version = 99
        node.step(future)
        #expect(node.term == 0)
    }

    @Test func validConfigurationPasses() throws {
        try RaftConfig(id: 1, voters: [1, 2, 3]).validate()
    }

    @Test func invalidConfigurationsAreRefused() {
        #expect(throws: RaftConfigError.invalidVoterCount(8)) {
            try RaftConfig(id: 1, voters: (1...8).map { NodeID($0) }).validate()
        }
        #expect(throws: RaftConfigError.selfNotAVoter(4)) {
            try RaftConfig(id: 4, voters: [1, 2, 3]).validate()
        }
        #expect(throws: RaftConfigError.duplicateVoter) {
            try RaftConfig(id: 1, voters: [1, 1, 2]).validate()
        }
        var config = RaftConfig(id: 1, voters: [1])
        config.electionTick = 1
        #expect(throws: RaftConfigError.electionTickNotAboveHeartbeatTick) { try config.validate() }
        config = RaftConfig(id: 1, voters: [1])
        config.snapshotChunkBytes = 0
        #expect(throws: RaftConfigError.notPositive("snapshotChunkBytes")) { try config.validate() }
    }
}

@Suite(.recordsCoreInvariants) struct PayloadEncodingTests {
    @Test(arguments: [0, 1, 2, 3, 4, 5, 64, 1000])
    func payloadBytesRoundTripThroughBase64(count: Int) {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        #expect(Base64Bytes.decode(Base64Bytes.encode(bytes)) == bytes)
    }

    @Test func base64MatchesTheStandardAlphabetAndPadding() {
        #expect(Base64Bytes.encode(Array("Man".utf8)) == "TWFu")
        #expect(Base64Bytes.encode(Array("Ma".utf8)) == "TWE=")
        #expect(Base64Bytes.encode(Array("M".utf8)) == "TQ==")
        #expect(Base64Bytes.encode([0xFB, 0xFF]) == "+/8=")
    }

    @Test(arguments: ["A", "A===", "TQ=a", "T*==", "TQ==TQ=="])
    func malformedBase64IsRefused(_ text: String) {
        #expect(Base64Bytes.decode(text) == nil)
    }
}
