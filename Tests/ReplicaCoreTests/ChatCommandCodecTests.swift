import ChatTestSupport
import Foundation
import Testing
@testable import ReplicaCore

@Suite struct ChatCommandCodecTests {
    static func decode(_ bytes: [UInt8]) throws -> ChatCommand {
        try ChatCommandCodec.decode(bytes) { try JSONDecoder().decode(ChatCommand.self, from: Data($0)) }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func everyGeneratedCommandSurvivesARoundTrip(seed: UInt64) throws {
        let commands = randomChatCommands(count: 300, seed: seed)
        for command in commands {
            #expect(try Self.decode(ChatCommandCodec.encode(command)) == command)
        }
    }

    @Test func unicodeEmptyStringsAndExtremeNumbersSurvive() throws {
        let commands: [ChatCommand] = [
            .sendMessage(.init(
                tokenHash: "", recipient: "Zoë", body: "héllo 👋🏽\n\u{0}", messageID: "m", sentAtMillis: .min,
                idempotencyKey: "", requestFingerprint: "f")),
            .sendMessage(.init(
                tokenHash: "t", recipient: "r", body: String(repeating: "x", count: 70_000), messageID: "m",
                sentAtMillis: .max, idempotencyKey: nil, requestFingerprint: "")),
            .acknowledge(.init(tokenHash: "t", upTo: -1)),
            .touchSessions(.init(tokenHashes: [], atMillis: .max)),
            .touchSessions(.init(tokenHashes: ["a", "", "ü"], atMillis: 7)),
            .expireSessions(.init(unusedBeforeMillis: .min)),
        ]
        for command in commands {
            #expect(try Self.decode(ChatCommandCodec.encode(command)) == command)
        }
    }

    @Test func entriesWrittenAsJSONByEarlierVersionsAreStillRead() throws {
        let command = ChatCommand.closeSession(.init(tokenHash: "abc"))
        #expect(try Self.decode(Array(try JSONEncoder().encode(command))) == command)
    }

    @Test func everyTruncationIsRejected() {
        let bytes = ChatCommandCodec.encode(.deleteAccount(.init(tokenHash: "token", username: "ann")))
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self, "an entry cut at \(length) bytes was accepted") {
                try Self.decode(Array(bytes.prefix(length)))
            }
        }
    }

    @Test func aTouchClaimingMoreHashesThanItHoldsIsRejected() {
        var bytes = ChatCommandCodec.encode(.touchSessions(.init(tokenHashes: ["a"], atMillis: 1)))
        bytes[10] = 0xFF  // the low byte of the hash count, after marker, tag and time
        #expect(throws: ChatCommandCodec.DecodingError.truncated) { try Self.decode(bytes) }
    }

    @Test func trailingBytesAnUnknownCommandAndBadUTF8AreRejected() {
        let bytes = ChatCommandCodec.encode(.closeSession(.init(tokenHash: "ab")))
        #expect(throws: ChatCommandCodec.DecodingError.trailingBytes) { try Self.decode(bytes + [0]) }
        var unknown = bytes
        unknown[1] = 99
        #expect(throws: ChatCommandCodec.DecodingError.unknownTag(99)) { try Self.decode(unknown) }
        var invalid = bytes
        invalid[invalid.count - 1] = 0xFF
        #expect(throws: ChatCommandCodec.DecodingError.invalidUTF8) { try Self.decode(invalid) }
    }
}
