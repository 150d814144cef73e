import Foundation
import Testing

/// The harness's own exit check, which timed cluster tests rely on when stopping a replica.
@Suite struct ProcessExitTests {
    /// Spawned without Foundation, so nothing reaps the child but this test: it stays a zombie.
    @Test func anUnreapedChildCountsAsExited() throws {
        var pid: pid_t = 0
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
        defer { for argument in arguments { free(argument) } }
        // A failed spawn leaves pid 0, and kill(0, …) would signal this whole process group.
        try #require(posix_spawn(&pid, "/bin/sleep", nil, nil, arguments, environ) == 0 && pid > 0)
        #expect(!hasExited(pid), "a sleeping child was taken for exited")
        kill(pid, SIGKILL)
        let start = ContinuousClock.now
        while !hasExited(pid) && ContinuousClock.now - start < .seconds(10) { usleep(1_000) }
        #expect(hasExited(pid), "a killed child, not yet reaped, was still taken for running after 10 s")
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
