import Foundation
import Synchronization

/// Runs password hashing (about 120 ms of CPU each) on threads of its own, never on the Swift
/// tasks' cooperative threads: a flood of logins would otherwise hold every one of those (two
/// on a two-core machine) and stall sends and long-poll wake-ups on the same replica.
///
/// At most `workers` hashes run at once and at most `queueLimit` wait; past that a caller is
/// refused at once with 429 and `Retry-After`, instead of queueing without bound.
public final class PasswordHashingPool: Sendable {
    public let workers: Int
    public let queueLimit: Int
    private let queue: OperationQueue
    private let admitted = Mutex(0)

    /// One worker leaves the other core to everything else on the replica.
    public init(workers: Int = 1, queueLimit: Int = 32) {
        precondition(workers >= 1 && queueLimit >= 0, "a hashing pool needs a worker")
        self.workers = workers
        self.queueLimit = queueLimit
        queue = OperationQueue()
        queue.name = "password-hashing"
        queue.maxConcurrentOperationCount = workers
        queue.qualityOfService = .utility
    }

    /// Runs `work` on the pool, or throws `APIError.tooManyHashes` when the pool is full.
    func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async throws(APIError) -> Result {
        let accepted = admitted.withLock { count in
            guard count < workers + queueLimit else { return false }
            count += 1
            return true
        }
        guard accepted else { throw APIError.tooManyHashes }
        return await withCheckedContinuation { continuation in
            queue.addOperation { [self] in
                let result = work()
                admitted.withLock { $0 -= 1 }
                continuation.resume(returning: result)
            }
        }
    }
}
