import Foundation
import Logging
import ReplicaCore
import Synchronization

/// A single replica with no peers: a serial driver that applies submitted commands in
/// batches, one SQLite transaction (one fsync) per batch, and answers each submitter after
/// the batch is durable.
public final class LocalReplicator: Replicator {
    struct Pending {
        var command: ChatCommand
        var continuation: CheckedContinuation<ChatResult, any Error>
    }

    let database: ChatDatabase
    let listener: any AppliedListener
    let logger: Logger
    let address: PeerAddress
    let maxBatch = 1024
    private let mailbox = Mutex<(pending: [Pending], isStopped: Bool)>(([], false))
    private let wakeup = DispatchSemaphore(value: 0)
    private let appliedIndex: Atomic<Int64>

    public init(database: ChatDatabase, address: PeerAddress, listener: any AppliedListener, logger: Logger) throws {
        self.database = database
        self.address = address
        self.listener = listener
        self.logger = logger
        appliedIndex = Atomic(try database.read { try ReplicaStateTable.get(.appliedIndex, in: $0) } ?? 0)
        let thread = Thread { [self] in run() }
        thread.name = "replica-driver"
        thread.start()
    }

    public func writeRoute() -> WriteRoute { .here }

    public func submit(_ command: ChatCommand) async throws(ReplicationError) -> ChatResult {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let accepted = mailbox.withLock { state in
                    guard !state.isStopped else { return false }
                    state.pending.append(Pending(command: command, continuation: continuation))
                    return true
                }
                if accepted { wakeup.signal() } else { continuation.resume(throwing: ReplicationError.shuttingDown) }
            }
        } catch let error as ReplicationError {
            throw error
        } catch {
            throw .shuttingDown
        }
    }

    public func awaitLinearizableRead() async throws(ReplicationError) {}

    public func status() -> ClusterStatus {
        let applied = appliedIndex.load(ordering: .relaxed)
        return ClusterStatus(
            id: address.id, role: "leader", term: 1, leader: address, commitIndex: applied, appliedIndex: applied,
            members: [.init(address: address, matchIndex: applied)], isReady: true)
    }

    public func shutdown() {
        let abandoned = mailbox.withLock { state in
            state.isStopped = true
            defer { state.pending.removeAll() }
            return state.pending
        }
        wakeup.signal()
        for pending in abandoned { pending.continuation.resume(throwing: ReplicationError.shuttingDown) }
    }

    private func run() {
        while true {
            wakeup.wait()
            let (batch, isStopped) = mailbox.withLock { state in
                let count = min(state.pending.count, maxBatch)
                defer { state.pending.removeFirst(count) }
                return (Array(state.pending.prefix(count)), state.isStopped)
            }
            if isStopped && batch.isEmpty { return }
            guard !batch.isEmpty else { continue }
            applyBatch(batch)
            if mailbox.withLock({ !$0.pending.isEmpty }) { wakeup.signal() }
        }
    }

    private func applyBatch(_ batch: [Pending]) {
        let newApplied = appliedIndex.load(ordering: .relaxed) + Int64(batch.count)
        do {
            let results = try database.apply(batch.map(\.command), appliedIndex: newApplied)
            appliedIndex.store(newApplied, ordering: .relaxed)
            for (pending, result) in zip(batch, results) { pending.continuation.resume(returning: result) }
            listener.didApply(results.compactMap { try? $0.get() })
        } catch {
            // A failed transaction changed nothing; the callers may retry.
            logger.error("applying a batch failed", metadata: ["error": "\(error)"])
            for pending in batch { pending.continuation.resume(throwing: ReplicationError.timedOut) }
        }
    }
}
