import Foundation

/// CLOCK_MONOTONIC in nanoseconds: the same clock Python's `time.monotonic()` reads on Linux,
/// so the driver's kill times and this tool's acknowledgement times can be compared.
enum MonotonicClock {
    static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    static func sleep(untilNanoseconds deadline: UInt64) async {
        let now = nanoseconds()
        if deadline > now { try? await Task.sleep(nanoseconds: deadline - now) }
    }

    /// Blocks the calling thread until CLOCK_MONOTONIC reaches `deadline`.
    static func sleepBlocking(untilNanoseconds deadline: UInt64) {
        var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &spec, nil) == EINTR {}
    }

    static func sleep(milliseconds: UInt64) async {
        try? await Task.sleep(nanoseconds: milliseconds * 1_000_000)
    }
}

/// Writes progress to stderr; stdout carries only the JSON result.
func progress(_ text: String) {
    FileHandle.standardError.write(Data("chat-bench: \(text)\n".utf8))
}

/// Lifts the soft open-file limit to the hard one: ten thousand long-polls need ten thousand sockets.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
