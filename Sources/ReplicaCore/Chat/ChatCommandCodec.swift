/// How a `ChatCommand` is written into a Raft log entry: a compact binary form, decoded by
/// every replica for every entry it applies, so it must be cheap (JSON cost about 5% of a
/// replica's CPU under load).
///
/// The first byte is a format marker that can never start JSON, so entries written as JSON
/// by earlier versions are still read. Strings are length-prefixed UTF-8 and integers
/// fixed-width little-endian.
public enum ChatCommandCodec {
    static let binaryMarker: UInt8 = 0xC3

    public typealias DecodingError = BinaryDecodingError

    private enum Tag: UInt8 {
        case createAccount = 1, openSession, closeSession, deleteAccount, sendMessage, acknowledge, touchSessions, expireSessions
    }

    public static func encode(_ command: ChatCommand) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 256)
        writer.put(binaryMarker)
        switch command {
        case .createAccount(let c):
            writer.put(Tag.createAccount.rawValue)
            writer.put(string: c.username)
            writer.put(string: c.passwordHash)
            writer.put(c.createdAtMillis)
        case .openSession(let c):
            writer.put(Tag.openSession.rawValue)
            writer.put(string: c.username)
            writer.put(string: c.verifiedPasswordHash)
            writer.put(string: c.tokenHash)
            writer.put(c.createdAtMillis)
        case .closeSession(let c):
            writer.put(Tag.closeSession.rawValue)
            writer.put(string: c.tokenHash)
        case .deleteAccount(let c):
            writer.put(Tag.deleteAccount.rawValue)
            writer.put(string: c.tokenHash)
            writer.put(string: c.username)
        case .sendMessage(let c):
            writer.put(Tag.sendMessage.rawValue)
            writer.put(string: c.tokenHash)
            writer.put(string: c.recipient)
            writer.put(string: c.body)
            writer.put(string: c.messageID)
            writer.put(c.sentAtMillis)
            writer.put(c.idempotencyKey != nil)
            if let key = c.idempotencyKey { writer.put(string: key) }
            writer.put(string: c.requestFingerprint)
        case .acknowledge(let c):
            writer.put(Tag.acknowledge.rawValue)
            writer.put(string: c.tokenHash)
            writer.put(c.upTo)
        case .touchSessions(let c):
            writer.put(Tag.touchSessions.rawValue)
            writer.put(c.atMillis)
            writer.put(Int64(c.tokenHashes.count))
            for tokenHash in c.tokenHashes { writer.put(string: tokenHash) }
        case .expireSessions(let c):
            writer.put(Tag.expireSessions.rawValue)
            writer.put(c.unusedBeforeMillis)
        }
        return writer.bytes
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
        var reader = BinaryReader(bytes, from: 1)
        let rawTag = try reader.integer(UInt8.self)
        guard let tag = Tag(rawValue: rawTag) else { throw .unknownTag(rawTag) }
        let command: ChatCommand
        switch tag {
        case .createAccount:
            command = .createAccount(.init(
                username: try reader.string(), passwordHash: try reader.string(), createdAtMillis: try reader.integer()))
        case .openSession:
            command = .openSession(.init(
                username: try reader.string(), verifiedPasswordHash: try reader.string(),
                tokenHash: try reader.string(), createdAtMillis: try reader.integer()))
        case .closeSession:
            command = .closeSession(.init(tokenHash: try reader.string()))
        case .deleteAccount:
            command = .deleteAccount(.init(tokenHash: try reader.string(), username: try reader.string()))
        case .sendMessage:
            let tokenHash = try reader.string()
            let recipient = try reader.string()
            let body = try reader.string()
            let messageID = try reader.string()
            let sentAt: Int64 = try reader.integer()
            let idempotencyKey = try reader.bool() ? try reader.string() : nil
            command = .sendMessage(.init(
                tokenHash: tokenHash, recipient: recipient, body: body, messageID: messageID, sentAtMillis: sentAt,
                idempotencyKey: idempotencyKey, requestFingerprint: try reader.string()))
        case .acknowledge:
            command = .acknowledge(.init(tokenHash: try reader.string(), upTo: try reader.integer()))
        case .touchSessions:
            let atMillis: Int64 = try reader.integer()
            let count: Int64 = try reader.integer()
            // Each hash takes at least its length prefix, so a count beyond the bytes left is corrupt.
            guard count >= 0, count <= reader.remainingCount else { throw .truncated }
            var tokenHashes: [String] = []
            for _ in 0..<count { tokenHashes.append(try reader.string()) }
            command = .touchSessions(.init(tokenHashes: tokenHashes, atMillis: atMillis))
        case .expireSessions:
            command = .expireSessions(.init(unusedBeforeMillis: try reader.integer()))
        }
        try reader.finish()
        return command
    }
}
