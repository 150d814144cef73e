/// How the core reports a broken invariant.
///
/// A replica whose protocol state is broken must stop rather than guess, so by default a
/// broken invariant traps, in release builds too and with its message (`precondition`
/// strips the message under `-O`). A test that drives the core through many seeded
/// schedules binds a `Recorder` for its task instead: the failure is recorded, the core
/// returns from the call as safely as it can, and the simulator reports the failure with
/// its seed and trace and moves on to the next schedule.
public enum CoreInvariant {
    /// Collects broken invariants instead of trapping, for the task that binds it.
    ///
    /// Confined to that task: the core is single-threaded and is driven from it alone.
    public final class Recorder: @unchecked Sendable {
        public private(set) var failures: [String] = []

        public init() {}

        func record(_ failure: String) {
            if failures.count < 20 { failures.append(failure) }
        }

        /// Returns the failures recorded so far and forgets them.
        public func takeFailures() -> [String] {
            defer { failures = [] }
            return failures
        }
    }

    /// When bound, broken invariants are recorded here instead of trapping.
    @TaskLocal public static var recorder: Recorder?

    static func report(_ message: String, file: StaticString, line: UInt) {
        let failure = "\(message) (\(file):\(line))"
        guard let recorder else { fatalError(failure) }
        recorder.record(failure)
    }
}

/// Checks an invariant of the core: traps when it is broken, or records the failure while
/// a test has bound a `CoreInvariant.Recorder` (and then returns, so the caller goes on).
@inline(__always)
func invariant(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() {
        CoreInvariant.report(message(), file: file, line: line)
    }
}

/// Reports a state that must never be reached. Returns only while a test records
/// failures; the caller then leaves the call with a harmless value.
func invariantFailure(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    CoreInvariant.report(message(), file: file, line: line)
}
