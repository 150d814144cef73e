/// JSON for the documents of the hot path, a send's body and the message it answers with (and
/// the inbox that carries messages to long-polls), without Foundation's coders (issue 13, cut 6;
/// they were about 5% of a leader's CPU).
///
/// The reader takes only a strict subset: a flat object whose values are all strings without
/// `\u` escapes, each key once. Anything else returns nil, and the caller decodes with
/// `JSONDecoder` as before, so every error message and every corner of JSON stays Foundation's.
enum StringObjectJSON {
    /// The object's fields, or nil when `bytes` is not in the subset (which says nothing about
    /// whether it is valid JSON).
    static func parse(_ bytes: [UInt8]) -> [String: String]? {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        var fields: [String: String] = [:]
        reader.skipWhitespace()
        if reader.take(UInt8(ascii: "}")) { return reader.isAtEndAfterWhitespace ? fields : nil }
        while true {
            reader.skipWhitespace()
            guard let key = reader.string(), fields[key] == nil else { return nil }
            reader.skipWhitespace()
            guard reader.take(UInt8(ascii: ":")) else { return nil }
            reader.skipWhitespace()
            guard let value = reader.string() else { return nil }
            fields[key] = value
            reader.skipWhitespace()
            if reader.take(UInt8(ascii: ",")) { continue }
            guard reader.take(UInt8(ascii: "}")) else { return nil }
            return reader.isAtEndAfterWhitespace ? fields : nil
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most text has nothing to escape: copied whole, not byte by byte.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        let hex = hexadecimalDigits
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        var isAtEndAfterWhitespace: Bool {
            mutating get {
                skipWhitespace()
                return position == bytes.count
            }
        }

        /// A string without `\u` escapes or raw control characters, as valid UTF-8; else nil.
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            var text: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: text, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { return nil }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                    case UInt8(ascii: "b"): text.append(0x08)
                    case UInt8(ascii: "f"): text.append(0x0C)
                    case UInt8(ascii: "n"): text.append(0x0A)
                    case UInt8(ascii: "r"): text.append(0x0D)
                    case UInt8(ascii: "t"): text.append(0x09)
                    default: return nil
                    }
                case 0x00..<0x20:
                    return nil
                default:
                    text.append(byte)
                }
            }
            return nil
        }
    }
}
