/// Ids for new messages: random (version 4) UUIDs in lowercase, drawn from the kernel's
/// generator in batches (`BufferedRandomWords`). Foundation's `UUID()` here opened, read and
/// closed /dev/urandom for every id, three system calls on the path of every send.
enum MessageID {
    static func generate() -> String {
        let random = BufferedRandomWords.shared
        let high = (random.next() & ~0xF000) | 0x4000  // version 4
        let low = (random.next() & ~(0xC << 60)) | (0x8 << 60)  // RFC 4122 variant
        // Written byte by byte: built from `String(radix:)` pieces, the id cost more than
        // the rest of a send's validation.
        var bytes = [UInt8]()
        bytes.reserveCapacity(36)
        for nibble in 0..<32 {
            if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 { bytes.append(UInt8(ascii: "-")) }
            let word = nibble < 16 ? high : low
            let value = Int((word >> UInt64(60 - 4 * (nibble % 16))) & 0xF)
            bytes.append(hexDigits[value])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
