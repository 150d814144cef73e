import Foundation
import GRDB
import Logging
import ReplicaCore
import Synchronization

/// Keeps sessions that are in use alive, and has the leader remove the expired ones.
///
/// Handlers note a session whose recorded use is getting old (`SessionPolicy.needsTouch`);
/// every `flushInterval` the noted sessions are touched through Raft: proposed here on the
/// leader, or handed to the leader by a follower (`POST /internal/sessions/used`). A touch
/// that fails is kept and tried again, so a use is never forgotten while this replica runs.
actor SessionUseRecorder {
    static let usedPath = "/internal/sessions/used"
    /// Hashes carried by one touch command: the command stays small, the rest wait a round.
    static let maxHashesPerTouch = 1_000
    /// Beyond this many waiting hashes new ones are dropped (they are noted again on their
    /// next use): a flood of distinct tokens cannot grow this set without bound.
    static let maxPending = 100_000

    let policy: SessionPolicy
    let replicator: any Replicator
    let database: ChatDatabase
    let peerCalls: PeerCalls?
    let clock: @Sendable () -> Int64
    let logger: Logger
    /// Noted by handlers on any thread, without waiting for the actor.
    private let pending = Mutex<Set<String>>([])
    private var lastExpiryCheck: Int64 = 0

    init(
        policy: SessionPolicy, replicator: any Replicator, database: ChatDatabase, peerCalls: PeerCalls?,
        clock: @escaping @Sendable () -> Int64, logger: Logger
    ) {
        self.policy = policy
        self.replicator = replicator
        self.database = database
        self.peerCalls = peerCalls
        self.clock = clock
        self.logger = logger
    }

    var flushInterval: Duration { .milliseconds(max(10, min(policy.refreshAfterMillis / 2, 5_000))) }

    nonisolated func note(_ tokenHash: String) {
        pending.withLock { pending in
            guard pending.count < Self.maxPending else { return }
            pending.insert(tokenHash)
        }
    }

    /// Flushes and expires until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: flushInterval)
            await flush()
            await expireIfDue()
        }
    }

    func flush() async {
        let batch = pending.withLock { pending in
            let batch = Array(pending.prefix(Self.maxHashesPerTouch))
            pending.subtract(batch)
            return batch
        }
        guard !batch.isEmpty else { return }
        let delivered: Bool
        switch replicator.writeRoute() {
        case .here:
            let touch = ChatCommand.touchSessions(.init(tokenHashes: batch, atMillis: clock()))
            delivered = (try? await replicator.submit(touch, timeline: nil)) != nil
        case .leader(let leader):
            let answer = await peerCalls?.post(json: ["token_hashes": batch], to: leader.url + Self.usedPath)
            delivered = answer == 204
        case .noLeader:
            delivered = false
        }
        if !delivered {
            pending.withLock { $0.formUnion(batch) }
            logger.debug("recording the use of \(batch.count) sessions failed; trying again")
        }
    }

    /// On the leader, once per refresh period, removes the sessions unused past their TTL.
    func expireIfDue() async {
        let now = clock()
        guard now - lastExpiryCheck >= policy.refreshAfterMillis, replicator.writeRoute() == .here else { return }
        lastExpiryCheck = now
        let cutoff = policy.expiryCutoff(now: now)
        let anyExpired = (try? database.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM session WHERE last_used_at < ?)", arguments: [cutoff])
        }) ?? false
        guard anyExpired == true else { return }
        if (try? await replicator.submit(.expireSessions(.init(unusedBeforeMillis: cutoff)), timeline: nil)) == nil {
            lastExpiryCheck = 0
        }
    }
}
