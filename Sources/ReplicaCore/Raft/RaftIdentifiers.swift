/// Identifies one replica of the cluster. Membership is static, so an
/// identifier is assigned once by the operator and never reused for another
/// replica.
public struct NodeID: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    ExpressibleByIntegerLiteral, CustomStringConvertible
{
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "n\(rawValue)" }
}

/// A Raft term: a logical clock that only moves forward on every replica.
public struct Term: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    ExpressibleByIntegerLiteral, CustomStringConvertible
{
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The term a candidate moves to when it starts an election.
    public var next: Term { Term(rawValue + 1) }

    public static func < (lhs: Term, rhs: Term) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "t\(rawValue)" }
}

/// The position of an entry in the replicated log. Index 0 is the empty
/// prefix before the first entry; real entries start at 1.
public struct LogIndex: RawRepresentable, Hashable, Comparable, Strideable, Sendable, Codable,
    ExpressibleByIntegerLiteral, CustomStringConvertible
{
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: LogIndex, rhs: LogIndex) -> Bool { lhs.rawValue < rhs.rawValue }

    public func distance(to other: LogIndex) -> Int { Int(other.rawValue) - Int(rawValue) }
    public func advanced(by offset: Int) -> LogIndex {
        LogIndex(UInt64(Int(rawValue) + offset))
    }

    public static func + (lhs: LogIndex, rhs: UInt64) -> LogIndex { LogIndex(lhs.rawValue + rhs) }
    public static func - (lhs: LogIndex, rhs: UInt64) -> LogIndex { LogIndex(lhs.rawValue - rhs) }

    public var description: String { "i\(rawValue)" }
}
