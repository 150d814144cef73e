import Testing
@testable import Gateway
@testable import ReplicaCore

@Suite struct RecentEntriesTests {
    func entries(_ range: ClosedRange<UInt64>, term: UInt64 = 1, size: Int = 4) -> [Entry] {
        range.map { Entry(term: Term(term), index: LogIndex($0), data: Array(repeating: 0, count: size)) }
    }

    @Test func holdsOnlyTheNewestEntriesWithinItsCount() {
        var recent = RecentEntries(maxCount: 3)
        recent.append(entries(1...5))
        #expect(recent.firstIndex == 3)
        #expect(recent.entries(in: 2..<6, maxBytes: .max) == nil, "an entry no longer held was answered")
        #expect(recent.entries(in: 3..<6, maxBytes: .max)?.map(\.index) == [3, 4, 5])
    }

    @Test func holdsOnlyTheNewestEntriesWithinItsBytes() {
        var recent = RecentEntries(maxBytes: 2 * (16 + 4))
        recent.append(entries(1...2))
        recent.append(entries(3...3))
        #expect(recent.firstIndex == 2)
    }

    @Test func anAppendWithinTheHeldEntriesReplacesWhatFollows() {
        var recent = RecentEntries()
        recent.append(entries(1...5))
        recent.append(entries(3...3, term: 2))
        #expect(recent.entries(in: 1..<4, maxBytes: .max)?.map(\.term) == [1, 1, 2])
        #expect(recent.entries(in: 4..<5, maxBytes: .max) == nil, "a replaced entry was answered")
    }

    @Test func anAppendBeforeOrAfterTheHeldEntriesStartsAfresh() {
        var recent = RecentEntries(maxCount: 3)
        recent.append(entries(4...6))
        recent.append(entries(2...2, term: 2))
        #expect(recent.firstIndex == 2)
        #expect(recent.count == 1)
        recent.append(entries(9...9))
        #expect(recent.firstIndex == 9)
        #expect(recent.count == 1)
    }

    @Test func aLongRunOfAppendsKeepsTheWindowContiguous() {
        var recent = RecentEntries(maxCount: 7)
        for index in UInt64(1)...1_000 { recent.append(entries(index...index)) }
        #expect(recent.entries(in: 994..<1_001, maxBytes: .max)?.map(\.index) == Array(UInt64(994)...1_000).map { LogIndex($0) })
    }
}
