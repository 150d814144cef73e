import Testing
@testable import Gateway

@Suite struct TimestampTests {
    @Test func millisecondsFormatAsRFC3339InUTC() {
        #expect(Timestamp.rfc3339(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.rfc3339(millis: 1_795_000_000_123) == "2026-11-18T11:06:40.123Z")
    }
}
