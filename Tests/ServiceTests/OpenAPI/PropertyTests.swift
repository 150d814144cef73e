import Foundation
import PropertyBased
import Synchronization
import Testing

/// Property-based tests of the API through the generated client, against a replica of their
/// own: one property at a time, so a property may assert that nothing at all was written.
@Suite(.serialized) struct PropertyTests {
    /// Iterations per property: enough to find edge cases, few enough to run in seconds on 2 cores.
    static let iterationCount = 30

    actor Replica {
        static let instance = Replica()
        private var replica: Task<ChatdProcess, any Error>?

        func baseURL() async throws -> String {
            if replica == nil { replica = Task { try await ChatdProcess.single() } }
            return try await replica!.value.baseURL
        }
    }

    static func connection() async throws -> OpenAPIConnection {
        OpenAPIConnection(baseURL: try await Replica.instance.baseURL())
    }

    /// The replica's commit and applied index: they move exactly when something was written.
    static func logPosition(_ api: OpenAPIConnection) async throws -> [Int64] {
        let status = try await api.client.getClusterStatus().ok.body.json
        return [status.commit_index, status.applied_index]
    }
}

/// Generators of API inputs.
enum APIGen {
    static let usernameHeadAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
    static let usernameAlphabet = usernameHeadAlphabet + ".-"

    static func character(from alphabet: String) -> Generator<Character, Shrink.None<Character?>> {
        Gen<Character?>.element(of: Array(alphabet)).map { $0! }
    }

    /// A username no other iteration or test uses: a random head and tail around a unique
    /// middle, so the head rules and every tail character (a trailing `.` or `-` too) are covered.
    static let uniqueValidUsername = zip(
        character(from: usernameHeadAlphabet), character(from: usernameAlphabet).string(of: 0...11),
        character(from: usernameAlphabet).string(of: 0...12)
    ).map { head, middle, tail in "\(head)\(middle)\(uniqueMiddle())\(tail)" }

    /// Eight characters, unique within this process run.
    static func uniqueMiddle() -> String {
        let value = UniqueCounter.next()
        return "u" + String(value, radix: 36).leftPadded(to: 7)
    }

    /// Usernames that break exactly one rule of the `Username` schema.
    static let invalidUsername = zip(
        Gen.int(in: 0...3), character(from: ".-"), character(from: usernameAlphabet).string(of: 0...20),
        character(from: " /@*?+=:\"\\\t\u{0}é中🙂ß\u{7F}"), Gen.int(in: 0...20), character(from: usernameAlphabet).string(of: 33...60)
    ).map { kind, badHead, body, badCharacter, position, long -> String in
        switch kind {
        case 0: return "\(badHead)\(body)"
        case 1:
            var characters = Array("a" + body)
            characters.insert(badCharacter, at: min(position, characters.count))
            return String(characters)
        case 2: return "a" + long
        default: return ""
        }
    }

    /// Passwords of 8 to 256 bytes, mixing ASCII with two-, three- and four-byte characters.
    static let password = character(
        from: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~éß中🙂"
    ).string(of: 8...64)

    /// The case of each character flipped or kept.
    static let caseFlips = Gen.bool.array(of: 32)

    static func flippingCase(_ text: String, _ flips: [Bool]) -> String {
        String(text.enumerated().map { index, character -> String in
            flips[index % flips.count] ? (character.isUppercase ? character.lowercased() : character.uppercased()) : String(character)
        }.joined())
    }
}

/// A process-wide counter behind unique usernames, started at a random point so that two runs
/// against the same data directory would not collide either.
enum UniqueCounter {
    private static let value = Mutex<UInt64>(UInt64.random(in: 0..<(1 << 32)))

    static func next() -> UInt64 {
        value.withLock { value in
            value += 1
            return value
        }
    }
}

extension String {
    func leftPadded(to length: Int, with pad: Character = "0") -> String {
        count >= length ? self : String(repeating: pad, count: length - count) + self
    }
}
