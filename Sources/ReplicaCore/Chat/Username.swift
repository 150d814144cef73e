/// Rules for usernames: 1–32 of `A–Z a–z 0–9 _ . -`, not starting with `.` or `-`,
/// unique case-insensitively.
public enum Username {
    public static let maxLength = 32

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...maxLength).contains(bytes.count) else { return false }
        guard bytes[0] != UInt8(ascii: ".") && bytes[0] != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy(isAllowed)
    }

    /// The case-insensitive identity of a username (ASCII lowercase; usernames are ASCII).
    public static func key(_ name: String) -> String {
        String(decoding: name.utf8.map(lowercased), as: UTF8.self)
    }

    public static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
