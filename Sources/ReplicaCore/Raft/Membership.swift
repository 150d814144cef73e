/// The replicas of a cluster and what each does: voters elect leaders and count
/// toward commit; learners receive the log and snapshots but do neither.
///
/// Raft reads only the ids and roles. `addresses` travels with them so that every
/// replica learns where to reach a member from the same log entry that adds it.
public struct Membership: Hashable, Sendable, Codable {
    /// Sorted, without duplicates.
    public private(set) var voters: [NodeID]
    /// Sorted, without duplicates, none of them a voter.
    public private(set) var learners: [NodeID]
    /// Where the application reaches each member; opaque to Raft.
    public private(set) var addresses: [NodeID: String]

    public init(voters: [NodeID] = [], learners: [NodeID] = [], addresses: [NodeID: String] = [:]) {
        self.voters = Array(Set(voters)).sorted()
        self.learners = Array(Set(learners).subtracting(voters)).sorted()
        self.addresses = addresses
    }

    /// No member known: a replica that has not yet heard from its cluster.
    public var isEmpty: Bool { voters.isEmpty && learners.isEmpty }
    public var members: [NodeID] { (voters + learners).sorted() }
    public var quorum: Int { voters.count / 2 + 1 }
    /// Larger clusters gain little safety and pay for it on every commit.
    public static let maxVoters = 7

    public func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }
    public func isLearner(_ id: NodeID) -> Bool { learners.contains(id) }
    public func contains(_ id: NodeID) -> Bool { isVoter(id) || isLearner(id) }

    /// Adds `id` as a learner reached at `address`.
    public func addingLearner(_ id: NodeID, address: String) -> Membership {
        var result = Membership(voters: voters, learners: learners + [id], addresses: addresses)
        result.addresses[id] = address
        return result
    }

    /// Makes the learner `id` a voter.
    public func promoting(_ id: NodeID) -> Membership {
        Membership(voters: voters + [id], learners: learners.filter { $0 != id }, addresses: addresses)
    }

    /// Drops `id`, voter or learner.
    public func removing(_ id: NodeID) -> Membership {
        var result = Membership(
            voters: voters.filter { $0 != id }, learners: learners.filter { $0 != id }, addresses: addresses)
        result.addresses[id] = nil
        return result
    }

    /// Whether every majority of `self` shares a voter with every majority of `other`.
    /// Holds whenever the two differ by at most one voter.
    public func majoritiesOverlap(with other: Membership) -> Bool {
        let mine = Set(voters), theirs = Set(other.voters)
        let shared = mine.intersection(theirs).count
        let onlyMine = mine.count - shared, onlyTheirs = theirs.count - shared
        // Two disjoint majorities would need this many shared voters between them.
        let sharedNeeded = max(0, quorum - onlyMine) + max(0, other.quorum - onlyTheirs)
        return sharedNeeded > shared
    }

    // MARK: Coding

    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.put(UInt8(1))
        writer.put(UInt32(voters.count))
        for voter in voters { writer.put(voter.rawValue) }
        writer.put(UInt32(learners.count))
        for learner in learners { writer.put(learner.rawValue) }
        let addressed = addresses.keys.sorted()
        writer.put(UInt32(addressed.count))
        for id in addressed {
            writer.put(id.rawValue)
            writer.put(string: addresses[id] ?? "")
        }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(BinaryDecodingError) {
        var reader = BinaryReader(bytes)
        guard try reader.integer(UInt8.self) == 1 else { throw .unknownFormat }
        func ids(_ reader: inout BinaryReader) throws(BinaryDecodingError) -> [NodeID] {
            let count = try reader.integer(UInt32.self)
            guard count <= 64 else { throw .truncated }
            var result: [NodeID] = []
            for _ in 0..<count { result.append(NodeID(try reader.integer(UInt64.self))) }
            return result
        }
        let voters = try ids(&reader)
        let learners = try ids(&reader)
        let addressCount = try reader.integer(UInt32.self)
        guard addressCount <= 64 else { throw .truncated }
        var addresses: [NodeID: String] = [:]
        for _ in 0..<addressCount {
            let id = NodeID(try reader.integer(UInt64.self))
            addresses[id] = try reader.string()
        }
        try reader.finish()
        self.init(voters: voters, learners: learners, addresses: addresses)
    }
}

extension Membership: CustomStringConvertible {
    public var description: String {
        let voterList = voters.map { "\($0.rawValue)" }.joined(separator: ",")
        let learnerList = learners.map { "\($0.rawValue)" }.joined(separator: ",")
        return learners.isEmpty ? "voters {\(voterList)}" : "voters {\(voterList)} learners {\(learnerList)}"
    }
}
