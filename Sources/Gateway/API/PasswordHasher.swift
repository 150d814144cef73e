import Crypto
import _CryptoExtras
import Foundation

/// Hashes passwords with PBKDF2-HMAC-SHA512 and a random 16-byte salt.
///
/// 210,000 rounds is OWASP's recommendation for PBKDF2-SHA512 (Password Storage Cheat Sheet)
/// and the minimum swift-crypto accepts without `unsafeUncheckedRounds`; about 120 ms per hash on
/// our 2-core machines, which bounds online guessing without making login slow. The round count
/// is stored in each hash, so it can be raised later without invalidating old passwords.
/// Tests start replicas with far fewer rounds (`--insecure-password-rounds`) to stay fast.
public struct PasswordHasher: Sendable {
    public static let recommendedRounds = 210_000
    static let scheme = "pbkdf2-sha512"

    public var rounds: Int

    public init(rounds: Int = PasswordHasher.recommendedRounds) {
        precondition(rounds >= 1, "PBKDF2 needs at least one round")
        self.rounds = rounds
    }

    /// `pbkdf2-sha512$<rounds>$<salt, base64>$<hash, base64>`
    public func hash(_ password: String) -> String {
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }
        let derived = Self.derive(password, salt: salt, rounds: rounds)
        return [Self.scheme, String(rounds), Data(salt).base64EncodedString(), Data(derived).base64EncodedString()]
            .joined(separator: "$")
    }

    /// Whether `password` matches `storedHash`, compared in constant time.
    public func verify(_ password: String, against storedHash: String) -> Bool {
        let parts = storedHash.split(separator: "$").map(String.init)
        guard parts.count == 4, parts[0] == Self.scheme, let storedRounds = Int(parts[1]), storedRounds >= 1,
              let salt = Data(base64Encoded: parts[2]), let expected = Data(base64Encoded: parts[3])
        else { return false }
        let derived = Self.derive(password, salt: Array(salt), rounds: storedRounds)
        return derived.count == expected.count && zip(derived, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func derive(_ password: String, salt: [UInt8], rounds: Int) -> [UInt8] {
        let key = try! KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha512, outputByteCount: 32,
            unsafeUncheckedRounds: rounds)
        return key.withUnsafeBytes { Array($0) }
    }
}

/// Session tokens: 32 random bytes, base64url; only their SHA-256 is ever stored.
public enum SessionToken {
    public static func generate() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).hexadecimal
    }
}
