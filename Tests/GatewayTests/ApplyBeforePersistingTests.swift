import Testing
@testable import Gateway
import ReplicaCore

/// The driver applies a Ready's committed entries before persisting its new ones only when
/// those committed entries are on this replica's disk already (issue 13: an answer must not
/// wait for the fsync of the next send's entry, and must never rest on an entry not yet durable).
@Suite struct ApplyBeforePersistingTests {
    static func entries(_ indexes: ClosedRange<UInt64>) -> [Entry] {
        indexes.map { Entry(term: 1, index: LogIndex($0)) }
    }

    @Test func committedEntriesBeforeTheNewOnesAreAppliedFirst() {
        let ready = Ready(entries: Self.entries(5...6), committedEntries: Self.entries(3...4), mustSync: true)
        #expect(ApplyBeforePersisting.isPossible(for: ready))
    }

    @Test func aCommittedEntryThatArrivesInTheSameReadyWaitsForItsFsync() {
        // A follower told in one append of an entry and that it is committed.
        let ready = Ready(entries: Self.entries(4...6), committedEntries: Self.entries(3...5), mustSync: true)
        #expect(!ApplyBeforePersisting.isPossible(for: ready))
    }

    @Test func aReadyWithNothingNewToPersistIsOneTransaction() {
        #expect(!ApplyBeforePersisting.isPossible(for: Ready(committedEntries: Self.entries(3...4))))
        #expect(!ApplyBeforePersisting.isPossible(for: Ready(entries: Self.entries(3...4), mustSync: true)))
    }

    @Test func aReadyWithASnapshotIsOneTransaction() {
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: 2, term: 1), data: [])
        let ready = Ready(snapshot: snapshot, entries: Self.entries(5...6), committedEntries: Self.entries(3...4), mustSync: true)
        #expect(!ApplyBeforePersisting.isPossible(for: ready))
    }
}
