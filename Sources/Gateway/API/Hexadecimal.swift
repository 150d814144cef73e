/// Lower-case hexadecimal text of bytes, two digits each: how digests (token hashes, request
/// fingerprints, state-file checksums) are written. One allocation, not one string per byte:
/// a token hash is made for every authenticated request.
extension Sequence<UInt8> {
    var hexadecimal: String {
        let digits = hexadecimalDigits
        var text: [UInt8] = []
        text.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// The digits of lower-case hexadecimal, as UTF-8, made once (JSON escapes use them too).
let hexadecimalDigits: [UInt8] = Array("0123456789abcdef".utf8)
