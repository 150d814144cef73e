import ReplicaCore

/// The body of `POST /internal/raft/messages`: a batch of Raft messages in a compact binary
/// form. Peer traffic is the hottest path of a replicated write; JSON (even with entry data
/// as base64) cost a tenth of the leader's CPU. Integers are fixed-width little-endian, byte
/// strings are length-prefixed, and every message starts with its wire version so that a
/// replica drops what it does not speak instead of misreading it.
enum RaftWireCodec {
    static let contentType = "application/x-chat-raft"

    enum DecodingError: Error, Equatable {
        case truncated
        case unknownKind(UInt8)
        case trailingBytes
    }

    private enum KindTag: UInt8 {
        case voteRequest = 1, voteResponse, preVoteRequest, preVoteResponse, append, appendResponse
        case heartbeat, heartbeatResponse, snapshotChunk, snapshotResponse, readIndex, readIndexResponse
        case timeoutNow, transferLeader
    }

    // MARK: Encoding

    static func encode(_ messages: [RaftMessage]) -> [UInt8] {
        var writer = Writer()
        writer.reserve(messages.reduce(4) { $0 + 64 + payloadBytes($1) })
        writer.put(UInt32(messages.count))
        for message in messages { writer.put(message) }
        return writer.bytes
    }

    private static func payloadBytes(_ message: RaftMessage) -> Int {
        switch message.kind {
        case .append(let append): append.entries.reduce(0) { $0 + 20 + $1.data.count }
        case .snapshotChunk(let chunk): chunk.data.count
        default: 0
        }
    }

    // MARK: Decoding

    static func decode(_ bytes: [UInt8]) throws(DecodingError) -> [RaftMessage] {
        var reader = Reader(bytes: bytes)
        let count = Int(try reader.uint32())
        // Each message takes at least 27 bytes: a count beyond that is a lie, not an allocation.
        guard count <= bytes.count / 27 else { throw .truncated }
        var messages: [RaftMessage] = []
        messages.reserveCapacity(count)
        for _ in 0..<count { messages.append(try reader.message()) }
        guard reader.isAtEnd else { throw .trailingBytes }
        return messages
    }

    // MARK: Writer

    private struct Writer {
        var bytes: [UInt8] = []

        mutating func reserve(_ count: Int) { bytes.reserveCapacity(count) }

        mutating func put(_ value: UInt8) { bytes.append(value) }
        mutating func put(_ value: Bool) { bytes.append(value ? 1 : 0) }
        mutating func put(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func put(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func put(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func put(_ value: Int) { put(UInt64(bitPattern: Int64(value))) }
        mutating func put(_ value: Term) { put(value.rawValue) }
        mutating func put(_ value: LogIndex) { put(value.rawValue) }
        mutating func put(_ value: NodeID) { put(value.rawValue) }

        mutating func put(_ value: UInt64?) {
            put(value != nil)
            if let value { put(value) }
        }

        mutating func put(data: [UInt8]) {
            put(UInt32(data.count))
            bytes.append(contentsOf: data)
        }

        mutating func put(_ metadata: SnapshotMetadata) {
            put(metadata.index)
            put(metadata.term)
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
                put(KindTag.voteRequest.rawValue)
                put(vote)
            case .voteResponse(let response):
                put(KindTag.voteResponse.rawValue)
                put(response.granted)
            case .preVoteRequest(let vote):
                put(KindTag.preVoteRequest.rawValue)
                put(vote)
            case .preVoteResponse(let response):
                put(KindTag.preVoteResponse.rawValue)
                put(response.granted)
            case .append(let append):
                put(KindTag.append.rawValue)
                put(append.previousLogIndex)
                put(append.previousLogTerm)
                put(append.commit)
                put(UInt32(append.entries.count))
                for entry in append.entries {
                    put(entry.term)
                    put(entry.index)
                    put(data: entry.data)
                }
            case .appendResponse(let response):
                put(KindTag.appendResponse.rawValue)
                put(response.index)
                put(response.rejection != nil)
                if let rejection = response.rejection {
                    put(rejection.hintIndex)
                    put(rejection.hintTerm)
                }
            case .heartbeat(let heartbeat):
                put(KindTag.heartbeat.rawValue)
                put(heartbeat.commit)
                put(heartbeat.readSequence)
            case .heartbeatResponse(let response):
                put(KindTag.heartbeatResponse.rawValue)
                put(response.readSequence)
            case .snapshotChunk(let chunk):
                put(KindTag.snapshotChunk.rawValue)
                put(chunk.metadata)
                put(chunk.offset)
                put(chunk.totalByteCount)
                put(data: chunk.data)
                put(chunk.isLast)
            case .snapshotResponse(let response):
                put(KindTag.snapshotResponse.rawValue)
                put(response.metadata)
                put(response.nextOffset)
            case .readIndex(let request):
                put(KindTag.readIndex.rawValue)
                put(request.context)
            case .readIndexResponse(let response):
                put(KindTag.readIndexResponse.rawValue)
                put(response.context)
                put(response.index)
            case .timeoutNow:
                put(KindTag.timeoutNow.rawValue)
            case .transferLeader(let request):
                put(KindTag.transferLeader.rawValue)
                put(request.target)
            }
        }
    }

    // MARK: Reader

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        var isAtEnd: Bool { position == bytes.count }

        mutating func take(_ count: Int) throws(DecodingError) -> ArraySlice<UInt8> {
            guard count >= 0, bytes.count - position >= count else { throw .truncated }
            defer { position += count }
            return bytes[position..<(position + count)]
        }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(DecodingError) -> T {
            let slice = try take(MemoryLayout<T>.size)
            var value: T = 0
            for (shift, byte) in slice.enumerated() { value |= T(byte) << (shift * 8) }
            return value
        }

        mutating func uint8() throws(DecodingError) -> UInt8 { try integer(UInt8.self) }
        mutating func uint32() throws(DecodingError) -> UInt32 { try integer(UInt32.self) }
        mutating func uint64() throws(DecodingError) -> UInt64 { try integer(UInt64.self) }
        mutating func bool() throws(DecodingError) -> Bool { try uint8() != 0 }
        mutating func int() throws(DecodingError) -> Int { Int(Int64(bitPattern: try uint64())) }
        mutating func term() throws(DecodingError) -> Term { Term(try uint64()) }
        mutating func index() throws(DecodingError) -> LogIndex { LogIndex(try uint64()) }
        mutating func node() throws(DecodingError) -> NodeID { NodeID(try uint64()) }

        mutating func optional() throws(DecodingError) -> UInt64? {
            try bool() ? try uint64() : nil
        }

        mutating func data() throws(DecodingError) -> [UInt8] {
            Array(try take(Int(try uint32())))
        }

        mutating func metadata() throws(DecodingError) -> SnapshotMetadata {
            let index = try index()
            return SnapshotMetadata(index: index, term: try term())
        }

        mutating func vote() throws(DecodingError) -> VoteRequest {
            let index = try index()
            let term = try term()
            return VoteRequest(lastLogIndex: index, lastLogTerm: term, isLeadershipTransfer: try bool())
        }

        mutating func message() throws(DecodingError) -> RaftMessage {
            let version = try integer(UInt16.self)
            let from = try node()
            let to = try node()
            let term = try term()
            let tag = try uint8()
            guard let kindTag = KindTag(rawValue: tag) else { throw .unknownKind(tag) }
            var message = RaftMessage(from: from, to: to, term: term, kind: try kind(kindTag))
            message.version = version
            return message
        }

        mutating func kind(_ tag: KindTag) throws(DecodingError) -> RaftMessage.Kind {
            switch tag {
            case .voteRequest: return .voteRequest(try vote())
            case .voteResponse: return .voteResponse(VoteResponse(granted: try bool()))
            case .preVoteRequest: return .preVoteRequest(try vote())
            case .preVoteResponse: return .preVoteResponse(VoteResponse(granted: try bool()))
            case .append:
                let previousIndex = try index()
                let previousTerm = try term()
                let commit = try index()
                let count = Int(try uint32())
                guard count <= (bytes.count - position) / 20 else { throw .truncated }
                var entries: [Entry] = []
                entries.reserveCapacity(count)
                for _ in 0..<count {
                    let term = try term()
                    let index = try index()
                    entries.append(Entry(term: term, index: index, data: try data()))
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
                let data = try data()
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
}
