import ChatClient
import Testing

@Suite("FailoverPolicy")
struct FailoverPolicyTests {
    @Test("doubles the backoff with each failure up to the maximum")
    func backoffDoublesAndCaps() {
        let policy = FailoverPolicy(backoffInitial: .milliseconds(50), backoffMaximum: .milliseconds(300))

        let delays = (1...6).map { policy.backoff(afterFailureCount: $0) }

        #expect(delays == [50, 100, 200, 300, 300, 300].map { Duration.milliseconds($0) })
        #expect(policy.backoff(afterFailureCount: 10_000) == .milliseconds(300))
    }
}
