/// Seeds of `RandomSchedule` that once found a bug, run on every test run. A seed's schedule
/// depends on the simulator's code, so after changing the simulator a seed may no longer
/// reach its old bug: keep it anyway, and add the new seed that does.
enum RegressionSeeds {
    static let all: [UInt64] = [
        // A follower acknowledged entries it had not flushed (`mustSync` false for new entries).
        1000, 1051,
        // A follower sent its acknowledgement before persisting (`canSendBeforePersisting` for every role).
        5007, 5168,
    ]

    /// Seeds of the schedules with membership changes (`changesMembership`).
    static let membership: [UInt64] = [
        // The checker counted a sole voter's leadership before its term was on disk: it won
        // alone under an uncommitted removal, crashed before flushing, and rightly voted for
        // another candidate of the same term after its restart.
        134_882_858_112,
    ]
}
