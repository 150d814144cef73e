import Foundation

/// Finds a name given twice in one JSON object. RFC 8259 leaves such a document's meaning
/// open and Foundation's decoder silently keeps one of the values, so a request that says
/// `"to"` twice is refused rather than guessed at.
enum RepeatedJSONKeys {
    /// The first name repeated within one object of `bytes`, decoded; nil when there is none,
    /// or when `bytes` is not JSON (the decoder then says what is wrong with it).
    static func first(in bytes: [UInt8]) -> String? {
        // Per open container: the names seen so far in an object, nil for an array.
        var containers: [Set<String>?] = []
        var expectsName = false
        var position = 0
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "{"):
                containers.append([])
                expectsName = true
            case UInt8(ascii: "["):
                containers.append(nil)
                expectsName = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = containers.popLast()
                expectsName = false
            case UInt8(ascii: ","):
                expectsName = containers.last.map { $0 != nil } ?? false
            case UInt8(ascii: "\""):
                guard let end = closingQuote(in: bytes, after: position) else { return nil }
                if expectsName, let last = containers.indices.last, containers[last] != nil {
                    guard let name = decodedString(bytes[position...end]) else { return nil }
                    // In place: a copy of the set per name would make a body of many names quadratic.
                    guard containers[last]!.insert(name).inserted else { return name }
                    expectsName = false
                }
                position = end
            default:
                break
            }
            position += 1
        }
        return nil
    }

    /// The index of the quote that ends the string opened at `open`.
    private static func closingQuote(in bytes: [UInt8], after open: Int) -> Int? {
        var position = open + 1
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\\"): position += 2
            case UInt8(ascii: "\""): return position
            default: position += 1
            }
        }
        return nil
    }

    /// A quoted JSON string's value: `"\u0074o"` and `"to"` are the same name.
    private static func decodedString(_ quoted: ArraySlice<UInt8>) -> String? {
        let inner = quoted.dropFirst().dropLast()
        guard inner.contains(UInt8(ascii: "\\")) else { return String(validating: inner, as: UTF8.self) }
        return try? JSONDecoder().decode(String.self, from: Data(quoted))
    }
}
