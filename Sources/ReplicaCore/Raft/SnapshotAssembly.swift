/// A follower's partly received snapshot. Chunks must arrive in order; any
/// other chunk is answered with the offset expected next, so the leader
/// resends from there (this is how a lost chunk is retried).
struct SnapshotAssembly {
    let metadata: SnapshotMetadata
    let totalByteCount: Int
    private(set) var data: [UInt8] = []

    init(metadata: SnapshotMetadata, totalByteCount: Int) {
        self.metadata = metadata
        self.totalByteCount = totalByteCount
        data.reserveCapacity(totalByteCount)
    }

    var nextOffset: Int { data.count }

    /// Adds `chunk` if it is the next one. Returns false otherwise.
    mutating func accept(_ chunk: SnapshotChunk) -> Bool {
        guard chunk.metadata == metadata, chunk.offset == data.count,
            data.count + chunk.data.count <= totalByteCount
        else { return false }
        data.append(contentsOf: chunk.data)
        return true
    }

    var isComplete: Bool { data.count == totalByteCount }

    var snapshot: Snapshot { Snapshot(metadata: metadata, data: data) }
}
