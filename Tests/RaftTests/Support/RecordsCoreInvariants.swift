import Testing
@testable import ReplicaCore

/// Runs each test with a `CoreInvariant.Recorder` bound and records every broken invariant
/// of the core as an issue of that test: one broken invariant fails the test that broke it,
/// instead of trapping the whole test process.
struct RecordsCoreInvariants: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        let recorder = CoreInvariant.Recorder()
        try await CoreInvariant.$recorder.withValue(recorder) { try await function() }
        for failure in recorder.takeFailures() {
            Issue.record("core invariant broken: \(failure)")
        }
    }
}

extension Trait where Self == RecordsCoreInvariants {
    /// Broken core invariants fail the test instead of trapping (see `RecordsCoreInvariants`).
    static var recordsCoreInvariants: Self { Self() }
}
