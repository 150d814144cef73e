import Foundation
import Testing
@testable import Gateway

@Suite struct MessageIDTests {
    @Test func idsAreLowercaseVersion4UUIDs() throws {
        for _ in 0..<1_000 {
            let id = MessageID.generate()
            let parsed = try #require(UUID(uuidString: id), "\(id) is not a UUID")
            #expect(parsed.uuidString.lowercased() == id)
            let characters = Array(id)
            #expect(characters[14] == "4", "\(id) is not version 4")
            #expect("89ab".contains(characters[19]), "\(id) does not have the RFC 4122 variant")
        }
    }

    @Test func idsDoNotRepeat() {
        let ids = (0..<10_000).map { _ in MessageID.generate() }
        #expect(Set(ids).count == ids.count)
    }
}

@Suite struct BufferedRandomWordsTests {
    @Test func wordsDoNotRepeatAcrossRefills() {
        let random = BufferedRandomWords()
        let words = (0..<2_000).map { _ in random.next() }
        #expect(Set(words).count == words.count, "a refill gave back words already handed out")
    }

    @Test func twoGeneratorsDrawDifferentWords() {
        let first = (0..<8).map { _ in BufferedRandomWords().next() }
        #expect(Set(first).count == first.count, "separate generators began with the same word")
    }
}
