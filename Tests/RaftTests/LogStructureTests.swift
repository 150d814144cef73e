import Testing
@testable import ReplicaCore

/// The building blocks under `RaftNode`: the unstable tail, the inflight ring
/// and a follower's progress.
@Suite(.recordsCoreInvariants) struct LogStructureTests {
    @Test func unstableTailTruncatesAndAppends() {
        var unstable = UnstableLog(offset: 5)
        unstable.truncateAndAppend(entries([(5, 1), (6, 1), (7, 1)]))
        unstable.truncateAndAppend(entries([(7, 2), (8, 2)]))
        #expect(unstable.entries.map(\.term) == [1, 1, 2, 2])
        unstable.truncateAndAppend(entries([(3, 3)]))
        #expect(unstable.offset == 3)
        #expect(unstable.entries.map(\.index) == [3])
    }

    @Test func unstableTailIgnoresStaleStabilityNotices() {
        var unstable = UnstableLog(offset: 1)
        unstable.truncateAndAppend(entries([(1, 1), (2, 1)]))
        unstable.truncateAndAppend(entries([(2, 2)]))
        unstable.markStable(upTo: 2, term: 1)
        #expect(unstable.entries.count == 2, "the entry persisted at index 2 was replaced since")
        unstable.markStable(upTo: 2, term: 2)
        #expect(unstable.entries.isEmpty)
        #expect(unstable.offset == 3)
    }

    @Test func inflightRingWrapsAndFrees() {
        var inflights = Inflights(capacity: 3, maxBytes: 1_000)
        for index: LogIndex in [2, 4, 6] { inflights.add(lastIndex: index, bytes: 10) }
        #expect(inflights.isFull)
        inflights.free(upTo: 4)
        #expect(inflights.count == 1)
        inflights.add(lastIndex: 8, bytes: 10)
        inflights.add(lastIndex: 10, bytes: 10)
        #expect(inflights.isFull)
        inflights.free(upTo: 9)
        #expect(inflights.count == 1)
        #expect(inflights.byteCount == 10)
    }

    @Test func inflightBytesAlsoBound() {
        var inflights = Inflights(capacity: 10, maxBytes: 25)
        inflights.add(lastIndex: 1, bytes: 20)
        #expect(!inflights.isFull)
        inflights.add(lastIndex: 2, bytes: 20)
        #expect(inflights.isFull)
    }

    @Test func probeBacksOffToTheHintButNeverBelowMatch() {
        let progress = Progress(match: 3, next: 10, inflights: Inflights(capacity: 4, maxBytes: 100))
        #expect(progress.backOff(rejected: 9, matchHint: 5))
        #expect(progress.next == 6)
        #expect(!progress.backOff(rejected: 9, matchHint: 1), "a stale rejection is ignored")
        #expect(progress.backOff(rejected: 5, matchHint: 1))
        #expect(progress.next == 4)
    }

    @Test func replicatingFollowerFallsBackToMatchOnRejection() {
        let progress = Progress(match: 3, next: 4, inflights: Inflights(capacity: 4, maxBytes: 100))
        progress.becomeReplicate()
        progress.recordSent(entryCount: 5, bytes: 50)
        #expect(progress.next == 9)
        #expect(!progress.backOff(rejected: 2, matchHint: 0), "rejections at or below match are stale")
        #expect(progress.backOff(rejected: 8, matchHint: 0))
        #expect(progress.next == 4)
    }
}
