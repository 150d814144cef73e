import Testing
@testable import Gateway

@Suite struct PasswordHasherTests {
    let hasher = PasswordHasher(rounds: 1_000)

    @Test func theRightPasswordVerifies() {
        let hash = hasher.hash("correct horse")
        #expect(hasher.verify("correct horse", against: hash))
    }

    @Test func aWrongPasswordDoesNot() {
        #expect(!hasher.verify("wrong horse", against: hasher.hash("correct horse")))
    }

    @Test func equalPasswordsGetDifferentSalts() {
        #expect(hasher.hash("same password") != hasher.hash("same password"))
    }

    @Test func theRoundCountTravelsInTheHash() {
        let hash = hasher.hash("pw")
        #expect(hash.hasPrefix("pbkdf2-sha512$1000$"))
        #expect(PasswordHasher(rounds: 5).verify("pw", against: hash), "verification must use the stored rounds")
    }

    @Test(arguments: ["", "garbage", "pbkdf2-sha512$0$AAAA$AAAA", "md5$1$AAAA$AAAA"])
    func malformedHashesNeverVerify(_ stored: String) {
        #expect(!hasher.verify("pw", against: stored))
    }

    @Test func theDefaultMeetsOWASPsMinimumForSHA512() {
        #expect(PasswordHasher.recommendedRounds >= 210_000)
    }

    @Test func tokensAreLongRandomAndStoredOnlyAsSHA256() {
        let token = SessionToken.generate()
        #expect(token.count >= 43)
        #expect(token != SessionToken.generate())
        #expect(SessionToken.hash(token).count == 64)
        #expect(SessionToken.hash(token) == SessionToken.hash(token))
    }
}
