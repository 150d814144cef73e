/// Payload bytes travel as one base64 string in JSON rather than as an array of numbers:
/// `Codable` would otherwise encode every byte with its own call and about 3.6 wire bytes
/// (profiled: 48% of a leader's CPU under load went to that).
enum Base64Bytes {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output += [symbol(chunk >> 18), symbol(chunk >> 12), symbol(chunk >> 6), symbol(chunk)]
            index += 3
        }
        let remaining = bytes.count - index
        if remaining == 1 {
            let chunk = UInt32(bytes[index]) << 16
            output += [symbol(chunk >> 18), symbol(chunk >> 12), UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if remaining == 2 {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output += [symbol(chunk >> 18), symbol(chunk >> 12), symbol(chunk >> 6), UInt8(ascii: "=")]
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of a padded base64 string, or nil when it is not one.
    static func decode(_ text: String) -> [UInt8]? {
        let symbols = Array(text.utf8)
        guard symbols.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(symbols.count / 4 * 3)
        var index = 0
        while index < symbols.count {
            let padding = symbols[index + 2] == UInt8(ascii: "=") ? 2 : (symbols[index + 3] == UInt8(ascii: "=") ? 1 : 0)
            guard padding == 0 || index + 4 == symbols.count else { return nil }
            guard padding != 2 || symbols[index + 3] == UInt8(ascii: "=") else { return nil }
            var chunk: UInt32 = 0
            for offset in 0..<4 {
                let symbol = symbols[index + offset]
                let value: UInt8 = offset >= 4 - padding ? 0 : values[Int(symbol)]
                guard value != 0xFF else { return nil }
                chunk = chunk << 6 | UInt32(value)
            }
            output.append(UInt8(truncatingIfNeeded: chunk >> 16))
            if padding < 2 { output.append(UInt8(truncatingIfNeeded: chunk >> 8)) }
            if padding < 1 { output.append(UInt8(truncatingIfNeeded: chunk)) }
            index += 4
        }
        return output
    }

    private static func symbol(_ value: UInt32) -> UInt8 { alphabet[Int(value & 0x3F)] }

    static func decode<Key: CodingKey>(
        _ container: KeyedDecodingContainer<Key>, forKey key: Key
    ) throws -> [UInt8] {
        let text = try container.decode(String.self, forKey: key)
        guard let bytes = decode(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not base64")
        }
        return bytes
    }
}

extension Entry {
    enum CodingKeys: String, CodingKey { case term, index, data }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            term: try container.decode(Term.self, forKey: .term),
            index: try container.decode(LogIndex.self, forKey: .index),
            data: try Base64Bytes.decode(container, forKey: .data))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(term, forKey: .term)
        try container.encode(index, forKey: .index)
        try container.encode(Base64Bytes.encode(data), forKey: .data)
    }
}

extension SnapshotChunk {
    enum CodingKeys: String, CodingKey { case metadata, offset, totalByteCount, data, isLast }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            metadata: try container.decode(SnapshotMetadata.self, forKey: .metadata),
            offset: try container.decode(Int.self, forKey: .offset),
            totalByteCount: try container.decode(Int.self, forKey: .totalByteCount),
            data: try Base64Bytes.decode(container, forKey: .data),
            isLast: try container.decode(Bool.self, forKey: .isLast))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(offset, forKey: .offset)
        try container.encode(totalByteCount, forKey: .totalByteCount)
        try container.encode(Base64Bytes.encode(data), forKey: .data)
        try container.encode(isLast, forKey: .isLast)
    }
}
