/// How a `ChatCommand` is written into a Raft log entry: a compact binary form, decoded by
/// every replica for every entry it applies, so it must be cheap (JSON cost about 5% of a
/// replica's CPU under load).
///
/// The first byte is a format marker that can never start JSON, so entries written as JSON
/// by earlier versions are still read. Strings are length-prefixed UTF-8 and integers
/// fixed-width little-endian.
public enum ChatCommandCodec {
    static let binaryMarker: UInt8 = 0xC3

    public enum DecodingError: Error, Equatable {
        case truncated
        case unknownCommand(UInt8)
        case invalidUTF8
        case trailingBytes
        case unknownFormat
    }

    private enum Tag: UInt8 {
        case createAccount = 1, openSession, closeSession, deleteAccount, sendMessage, acknowledge
    }

    public static func encode(_ command: ChatCommand) -> [UInt8] {
        var bytes: [UInt8] = [binaryMarker]
        bytes.reserveCapacity(256)
        func put(_ value: Int64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        func put(_ text: String) {
            let utf8 = text.utf8
            withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: utf8)
        }
        switch command {
        case .createAccount(let c):
            bytes.append(Tag.createAccount.rawValue)
            put(c.username); put(c.passwordHash); put(c.createdAtMillis)
        case .openSession(let c):
            bytes.append(Tag.openSession.rawValue)
            put(c.username); put(c.verifiedPasswordHash); put(c.tokenHash); put(c.createdAtMillis)
        case .closeSession(let c):
            bytes.append(Tag.closeSession.rawValue)
            put(c.tokenHash)
        case .deleteAccount(let c):
            bytes.append(Tag.deleteAccount.rawValue)
            put(c.tokenHash); put(c.username)
        case .sendMessage(let c):
            bytes.append(Tag.sendMessage.rawValue)
            put(c.tokenHash); put(c.recipient); put(c.body); put(c.messageID); put(c.sentAtMillis)
            bytes.append(c.idempotencyKey == nil ? 0 : 1)
            if let key = c.idempotencyKey { put(key) }
            put(c.requestFingerprint)
        case .acknowledge(let c):
            bytes.append(Tag.acknowledge.rawValue)
            put(c.tokenHash); put(c.upTo)
        }
        return bytes
    }

    /// Reads a command written by `encode`, or by `JSONEncoder` in earlier versions.
    public static func decode(_ bytes: [UInt8], legacyJSON: ([UInt8]) throws -> ChatCommand) throws -> ChatCommand {
        switch bytes.first {
        case binaryMarker: return try decodeBinary(bytes)
        case UInt8(ascii: "{"): return try legacyJSON(bytes)
        default: throw DecodingError.unknownFormat
        }
    }

    static func decodeBinary(_ bytes: [UInt8]) throws(DecodingError) -> ChatCommand {
        var reader = Reader(bytes: bytes, position: 1)
        let rawTag = try reader.byte()
        guard let tag = Tag(rawValue: rawTag) else { throw .unknownCommand(rawTag) }
        let command: ChatCommand
        switch tag {
        case .createAccount:
            command = .createAccount(.init(
                username: try reader.string(), passwordHash: try reader.string(), createdAtMillis: try reader.int64()))
        case .openSession:
            command = .openSession(.init(
                username: try reader.string(), verifiedPasswordHash: try reader.string(),
                tokenHash: try reader.string(), createdAtMillis: try reader.int64()))
        case .closeSession:
            command = .closeSession(.init(tokenHash: try reader.string()))
        case .deleteAccount:
            command = .deleteAccount(.init(tokenHash: try reader.string(), username: try reader.string()))
        case .sendMessage:
            let tokenHash = try reader.string()
            let recipient = try reader.string()
            let body = try reader.string()
            let messageID = try reader.string()
            let sentAt = try reader.int64()
            let idempotencyKey = try reader.byte() == 0 ? nil : try reader.string()
            command = .sendMessage(.init(
                tokenHash: tokenHash, recipient: recipient, body: body, messageID: messageID, sentAtMillis: sentAt,
                idempotencyKey: idempotencyKey, requestFingerprint: try reader.string()))
        case .acknowledge:
            command = .acknowledge(.init(tokenHash: try reader.string(), upTo: try reader.int64()))
        }
        guard reader.position == bytes.count else { throw .trailingBytes }
        return command
    }

    private struct Reader {
        let bytes: [UInt8]
        var position: Int

        mutating func byte() throws(DecodingError) -> UInt8 {
            guard position < bytes.count else { throw .truncated }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func uint32() throws(DecodingError) -> UInt32 {
            guard bytes.count - position >= 4 else { throw .truncated }
            var value: UInt32 = 0
            for shift in 0..<4 { value |= UInt32(bytes[position + shift]) << (shift * 8) }
            position += 4
            return value
        }

        mutating func int64() throws(DecodingError) -> Int64 {
            guard bytes.count - position >= 8 else { throw .truncated }
            var value: UInt64 = 0
            for shift in 0..<8 { value |= UInt64(bytes[position + shift]) << (shift * 8) }
            position += 8
            return Int64(bitPattern: value)
        }

        mutating func string() throws(DecodingError) -> String {
            let count = Int(try uint32())
            guard bytes.count - position >= count else { throw .truncated }
            defer { position += count }
            guard let text = String(validating: bytes[position..<(position + count)], as: UTF8.self) else {
                throw .invalidUTF8
            }
            return text
        }
    }
}
