/// The primitives of this project's binary forms (`ChatCommandCodec` for log entries,
/// `RaftWireCodec` between replicas): fixed-width little-endian integers, and byte strings
/// and UTF-8 strings prefixed with their length as a 32-bit count.
///
/// Both sit on hot paths in another module, hence `@inlinable`: generic integer code that
/// is not specialised at the call site would cost more than the JSON it replaced.
public enum BinaryDecodingError: Error, Equatable, Sendable {
    /// The bytes end before the value does.
    case truncated
    /// Bytes are left after the last value.
    case trailingBytes
    case invalidUTF8
    /// A tag that names no known kind of value.
    case unknownTag(UInt8)
    /// The first byte names no known format.
    case unknownFormat
}

public struct BinaryWriter {
    @usableFromInline var written: [UInt8] = []

    public var bytes: [UInt8] { written }

    @inlinable
    public init(reservingCapacity capacity: Int = 0) {
        written.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { written.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func put(_ value: Bool) { written.append(value ? 1 : 0) }

    @inlinable
    public mutating func put(bytes data: [UInt8]) {
        put(UInt32(data.count))
        written.append(contentsOf: data)
    }

    @inlinable
    public mutating func put(string: String) {
        let utf8 = string.utf8
        put(UInt32(utf8.count))
        written.append(contentsOf: utf8)
    }
}

public struct BinaryReader {
    @usableFromInline let bytes: [UInt8]
    @usableFromInline var offset: Int

    public var position: Int { offset }

    @inlinable
    public init(_ bytes: [UInt8], from position: Int = 0) {
        self.bytes = bytes
        offset = position
    }

    @inlinable
    public var remainingCount: Int { bytes.count - offset }

    @inlinable
    mutating func take(_ count: Int) throws(BinaryDecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, remainingCount >= count else { throw .truncated }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    @inlinable
    public mutating func integer<T: FixedWidthInteger>(_: T.Type = T.self) throws(BinaryDecodingError) -> T {
        let slice = try take(MemoryLayout<T>.size)
        var value: T = 0
        for (shift, byte) in slice.enumerated() { value |= T(truncatingIfNeeded: byte) << (shift * 8) }
        return value
    }

    @inlinable
    public mutating func bool() throws(BinaryDecodingError) -> Bool { try integer(UInt8.self) != 0 }

    @inlinable
    public mutating func bytesWithCount() throws(BinaryDecodingError) -> [UInt8] {
        Array(try take(Int(try integer(UInt32.self))))
    }

    @inlinable
    public mutating func string() throws(BinaryDecodingError) -> String {
        let utf8 = try take(Int(try integer(UInt32.self)))
        guard let text = String(validating: utf8, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }

    /// Checks that every byte was read.
    @inlinable
    public func finish() throws(BinaryDecodingError) {
        guard remainingCount == 0 else { throw .trailingBytes }
    }
}
