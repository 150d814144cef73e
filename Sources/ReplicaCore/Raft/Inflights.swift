/// The append messages sent to one follower and not yet acknowledged, as a
/// bounded ring of (last index, bytes). Bounding them keeps a slow follower
/// from making the leader buffer an unbounded amount of traffic.
struct Inflights {
    private var lastIndices: [LogIndex]
    private var byteCounts: [Int]
    private var start = 0
    private(set) var count = 0
    private(set) var byteCount = 0
    let capacity: Int
    let maxBytes: Int

    init(capacity: Int, maxBytes: Int) {
        invariant(capacity > 0, "inflight capacity must be positive")
        self.capacity = capacity
        self.maxBytes = maxBytes
        lastIndices = []
        byteCounts = []
    }

    var isFull: Bool { count == capacity || byteCount >= maxBytes }

    mutating func add(lastIndex: LogIndex, bytes: Int) {
        guard !isFull else { return invariantFailure("adding to full inflights") }
        if lastIndices.isEmpty {
            lastIndices = Array(repeating: 0, count: capacity)
            byteCounts = Array(repeating: 0, count: capacity)
        }
        let slot = (start + count) % capacity
        lastIndices[slot] = lastIndex
        byteCounts[slot] = bytes
        count += 1
        byteCount += bytes
    }

    /// Frees every message whose last index is at or below `index`: the follower acknowledged them.
    mutating func free(upTo index: LogIndex) {
        while count > 0 && lastIndices[start] <= index {
            freeFirst()
        }
    }

    /// Frees the oldest message, so that a heartbeat response can unblock a
    /// follower whose acknowledgements were all lost.
    mutating func freeFirst() {
        guard count > 0 else { return }
        byteCount -= byteCounts[start]
        start = (start + 1) % capacity
        count -= 1
    }

    mutating func reset() {
        start = 0
        count = 0
        byteCount = 0
    }
}
