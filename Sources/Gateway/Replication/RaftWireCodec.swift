import ReplicaCore

/// The body of `POST /internal/raft/messages`: a batch of Raft messages in a compact binary
/// form. Peer traffic is the hottest path of a replicated write; JSON (even with entry data
/// as base64) cost a tenth of the leader's CPU. Integers are fixed-width little-endian, byte
/// strings are length-prefixed, and every message starts with its wire version so that a
/// replica drops what it does not speak instead of misreading it.
enum RaftWireCodec {
    static let contentType = "application/x-chat-raft"

    typealias DecodingError = BinaryDecodingError

    fileprivate enum KindTag: UInt8 {
        case voteRequest = 1, voteResponse, preVoteRequest, preVoteResponse, append, appendResponse
        case heartbeat, heartbeatResponse, snapshotChunk, snapshotResponse, readIndex, readIndexResponse
        case timeoutNow, transferLeader
    }

    // MARK: Encoding

    static func encode(_ messages: [RaftMessage]) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: messages.reduce(4) { $0 + 64 + payloadBytes($1) })
        writer.put(UInt32(messages.count))
        for message in messages { writer.put(message) }
        return writer.bytes
    }

    private static func payloadBytes(_ message: RaftMessage) -> Int {
        switch message.kind {
        case .append(let append): append.entries.reduce(0) { $0 + 21 + $1.data.count }
        case .snapshotChunk(let chunk): chunk.data.count
        default: 0
        }
    }

    // MARK: Decoding

    static func decode(_ bytes: [UInt8]) throws(DecodingError) -> [RaftMessage] {
        var reader = BinaryReader(bytes)
        let count = Int(try reader.integer(UInt32.self))
        // Each message takes at least 27 bytes: a count beyond that is a lie, not an allocation.
        guard count <= bytes.count / 27 else { throw .truncated }
        var messages: [RaftMessage] = []
        messages.reserveCapacity(count)
        for _ in 0..<count { messages.append(try reader.message()) }
        try reader.finish()
        return messages
    }
}

// MARK: Writing the Raft types

private extension BinaryWriter {
    mutating func put(_ value: Term) { put(value.rawValue) }
    mutating func put(_ value: LogIndex) { put(value.rawValue) }
    mutating func put(_ value: NodeID) { put(value.rawValue) }
    mutating func put(_ value: Int) { put(Int64(value)) }

    mutating func put(_ value: UInt64?) {
        put(value != nil)
        if let value { put(value) }
    }

    mutating func put(_ metadata: SnapshotMetadata) {
        put(metadata.index)
        put(metadata.term)
        put(bytes: metadata.membership.isEmpty ? [] : metadata.membership.encoded())
    }

    mutating func put(_ vote: VoteRequest) {
        put(vote.lastLogIndex)
        put(vote.lastLogTerm)
        put(vote.isLeadershipTransfer)
    }

    mutating func put(_ message: RaftMessage) {
        put(message.version)
        put(message.from)
        put(message.to)
        put(message.term)
        switch message.kind {
        case .voteRequest(let vote):
            put(RaftWireCodec.KindTag.voteRequest.rawValue)
            put(vote)
        case .voteResponse(let response):
            put(RaftWireCodec.KindTag.voteResponse.rawValue)
            put(response.granted)
        case .preVoteRequest(let vote):
            put(RaftWireCodec.KindTag.preVoteRequest.rawValue)
            put(vote)
        case .preVoteResponse(let response):
            put(RaftWireCodec.KindTag.preVoteResponse.rawValue)
            put(response.granted)
        case .append(let append):
            put(RaftWireCodec.KindTag.append.rawValue)
            put(append.previousLogIndex)
            put(append.previousLogTerm)
            put(append.commit)
            put(UInt32(append.entries.count))
            for entry in append.entries {
                put(entry.term)
                put(entry.index)
                put(entry.kind.rawValue)
                put(bytes: entry.data)
            }
        case .appendResponse(let response):
            put(RaftWireCodec.KindTag.appendResponse.rawValue)
            put(response.index)
            put(response.rejection != nil)
            if let rejection = response.rejection {
                put(rejection.hintIndex)
                put(rejection.hintTerm)
            }
        case .heartbeat(let heartbeat):
            put(RaftWireCodec.KindTag.heartbeat.rawValue)
            put(heartbeat.commit)
            put(heartbeat.readSequence)
        case .heartbeatResponse(let response):
            put(RaftWireCodec.KindTag.heartbeatResponse.rawValue)
            put(response.readSequence)
        case .snapshotChunk(let chunk):
            put(RaftWireCodec.KindTag.snapshotChunk.rawValue)
            put(chunk.metadata)
            put(chunk.offset)
            put(chunk.totalByteCount)
            put(bytes: chunk.data)
            put(chunk.isLast)
        case .snapshotResponse(let response):
            put(RaftWireCodec.KindTag.snapshotResponse.rawValue)
            put(response.metadata)
            put(response.nextOffset)
        case .readIndex(let request):
            put(RaftWireCodec.KindTag.readIndex.rawValue)
            put(request.context)
        case .readIndexResponse(let response):
            put(RaftWireCodec.KindTag.readIndexResponse.rawValue)
            put(response.context)
            put(response.index)
        case .timeoutNow:
            put(RaftWireCodec.KindTag.timeoutNow.rawValue)
        case .transferLeader(let request):
            put(RaftWireCodec.KindTag.transferLeader.rawValue)
            put(request.target)
        }
    }
}

// MARK: Reading the Raft types

private extension BinaryReader {
    mutating func int() throws(BinaryDecodingError) -> Int { Int(try integer(Int64.self)) }
    mutating func uint64() throws(BinaryDecodingError) -> UInt64 { try integer(UInt64.self) }
    mutating func term() throws(BinaryDecodingError) -> Term { Term(try uint64()) }
    mutating func index() throws(BinaryDecodingError) -> LogIndex { LogIndex(try uint64()) }
    mutating func node() throws(BinaryDecodingError) -> NodeID { NodeID(try uint64()) }

    mutating func optional() throws(BinaryDecodingError) -> UInt64? {
        try bool() ? try uint64() : nil
    }

    mutating func metadata() throws(BinaryDecodingError) -> SnapshotMetadata {
        let index = try index()
        let term = try term()
        let membershipBytes = try bytesWithCount()
        let membership = membershipBytes.isEmpty ? Membership() : try Membership(decoding: membershipBytes)
        return SnapshotMetadata(index: index, term: term, membership: membership)
    }

    mutating func vote() throws(BinaryDecodingError) -> VoteRequest {
        let index = try index()
        let term = try term()
        return VoteRequest(lastLogIndex: index, lastLogTerm: term, isLeadershipTransfer: try bool())
    }

    mutating func message() throws(BinaryDecodingError) -> RaftMessage {
        let version = try integer(UInt16.self)
        let from = try node()
        let to = try node()
        let term = try term()
        let tag = try integer(UInt8.self)
        guard let kindTag = RaftWireCodec.KindTag(rawValue: tag) else { throw .unknownTag(tag) }
        var message = RaftMessage(from: from, to: to, term: term, kind: try kind(kindTag))
        message.version = version
        return message
    }

    mutating func kind(_ tag: RaftWireCodec.KindTag) throws(BinaryDecodingError) -> RaftMessage.Kind {
        switch tag {
        case .voteRequest: return .voteRequest(try vote())
        case .voteResponse: return .voteResponse(VoteResponse(granted: try bool()))
        case .preVoteRequest: return .preVoteRequest(try vote())
        case .preVoteResponse: return .preVoteResponse(VoteResponse(granted: try bool()))
        case .append:
            let previousIndex = try index()
            let previousTerm = try term()
            let commit = try index()
            let count = Int(try integer(UInt32.self))
            guard count <= remainingCount / 21 else { throw .truncated }
            var entries: [Entry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let term = try term()
                let index = try index()
                let kindByte = try integer(UInt8.self)
                guard let kind = EntryKind(rawValue: kindByte) else { throw .unknownTag(kindByte) }
                entries.append(Entry(term: term, index: index, data: try bytesWithCount(), kind: kind))
            }
            return .append(AppendRequest(
                previousLogIndex: previousIndex, previousLogTerm: previousTerm, entries: entries, commit: commit))
        case .appendResponse:
            let index = try index()
            guard try bool() else { return .appendResponse(AppendResponse(index: index)) }
            let hintIndex = try self.index()
            return .appendResponse(AppendResponse(
                index: index, rejection: AppendRejection(hintIndex: hintIndex, hintTerm: try term())))
        case .heartbeat:
            let commit = try index()
            return .heartbeat(Heartbeat(commit: commit, readSequence: try optional()))
        case .heartbeatResponse:
            return .heartbeatResponse(HeartbeatResponse(readSequence: try optional()))
        case .snapshotChunk:
            let metadata = try metadata()
            let offset = try int()
            let total = try int()
            let data = try bytesWithCount()
            return .snapshotChunk(SnapshotChunk(
                metadata: metadata, offset: offset, totalByteCount: total, data: data, isLast: try bool()))
        case .snapshotResponse:
            let metadata = try metadata()
            return .snapshotResponse(SnapshotResponse(metadata: metadata, nextOffset: try int()))
        case .readIndex:
            return .readIndex(ReadIndexRequest(context: try uint64()))
        case .readIndexResponse:
            let context = try uint64()
            return .readIndexResponse(ReadIndexResponse(context: context, index: try index()))
        case .timeoutNow:
            return .timeoutNow
        case .transferLeader:
            return .transferLeader(TransferLeaderRequest(target: try node()))
        }
    }
}
