import Testing
@testable import Gateway

@Suite struct SessionPolicyTests {
    @Test(arguments: [
        ("30d", 30 * 86_400_000), ("12h", 12 * 3_600_000), ("90m", 90 * 60_000), ("45s", 45_000),
        ("500ms", 500), ("7", 7_000), (" 2H ", 2 * 3_600_000),
    ] as [(String, Int64)])
    func durationsAreReadWithTheirUnit(text: String, millis: Int64) {
        #expect(DurationText.milliseconds(text) == millis, "\(text)")
    }

    @Test(arguments: ["", "0s", "-5m", "5x", "ms", "1.5h", "٣s", "9999999999999999d"])
    func durationsThatAreNotPositiveOrNotNumbersAreRefused(text: String) {
        #expect(DurationText.milliseconds(text) == nil, "\(text) was accepted")
    }

    @Test func aUseIsRecordedOnceTheRecordedOneIsATenthOfTheTTLOld() {
        let policy = SessionPolicy(ttlMillis: 10_000)
        #expect(!policy.needsTouch(lastUsedAtMillis: 0, now: 999))
        #expect(policy.needsTouch(lastUsedAtMillis: 0, now: 1_000))
    }

    @Test func theRecordingSlackIsAtMostAnHour() {
        #expect(SessionPolicy().refreshAfterMillis == 3_600_000)
    }

    /// The recorded use may lag the real one by the refresh period, so a session is expired
    /// only when even its latest possible real use is a whole TTL ago.
    @Test func aSessionNeverExpiresBeforeItWentUnusedForTheWholeTTL() {
        let policy = SessionPolicy(ttlMillis: 10_000)
        let recorded: Int64 = 0
        let latestRealUse = recorded + policy.refreshAfterMillis
        #expect(!policy.isExpired(lastUsedAtMillis: recorded, now: latestRealUse + 10_000))
        #expect(policy.isExpired(lastUsedAtMillis: recorded, now: latestRealUse + 10_001))
    }
}
