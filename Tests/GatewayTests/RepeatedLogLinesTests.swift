import Testing
@testable import Gateway

@Suite struct RepeatedLogLinesTests {
    let start = ContinuousClock.now

    @Test func aLineRepeatedWithinTheIntervalIsHeldBackThenCounted() {
        let lines = RepeatedLogLines(interval: .seconds(10))
        #expect(lines.admit("handshake failed", at: start) == "handshake failed")
        #expect(lines.admit("handshake failed", at: start + .seconds(1)) == nil)
        #expect(lines.admit("handshake failed", at: start + .seconds(2)) == nil)
        #expect(lines.admit("handshake failed", at: start + .seconds(10))
                == "handshake failed (and 2 more like it since it was last logged)")
        #expect(lines.admit("handshake failed", at: start + .seconds(21)) == "handshake failed", "the count starts again")
    }

    @Test func differentLinesDoNotHoldEachOtherBack() {
        let lines = RepeatedLogLines(interval: .seconds(10))
        #expect(lines.admit("a", at: start) == "a")
        #expect(lines.admit("b", at: start + .seconds(1)) == "b")
    }
}
