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
