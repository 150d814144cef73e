/// How long a session lives without use (`--session-ttl`), how precisely its use is
/// recorded, and how many sessions one account may hold (`--max-sessions-per-account`).
///
/// Reads are served by any replica without going through Raft, so a use is not recorded
/// every time: a replica proposes a touch (`ChatCommand.TouchSessions`) only when the
/// recorded last use is `refreshAfterMillis` old. The recorded use is therefore at most that
/// far behind the real one, and a session counts as expired only when its recorded use is
/// older than the TTL plus that slack: it never expires before it has gone unused for the
/// whole TTL, and at most `refreshAfterMillis` after.
public struct SessionPolicy: Sendable, Equatable {
    public static let defaultTTLMillis: Int64 = 30 * 24 * 3_600_000

    public static let defaultMaxPerAccount = 100

    public var ttlMillis: Int64
    /// Sessions one account may hold (`--max-sessions-per-account`): logging in beyond them
    /// closes some first (`SessionTable.leastRecentlyUsed` says which), so that a client that logs in again and again,
    /// and never out, cannot grow the state (held in memory by every replica) without bound.
    public var maxPerAccount: Int

    public init(ttlMillis: Int64 = Self.defaultTTLMillis, maxPerAccount: Int = Self.defaultMaxPerAccount) {
        precondition(ttlMillis > 0, "a session TTL must be positive")
        precondition(maxPerAccount > 0, "an account must be allowed a session")
        self.ttlMillis = ttlMillis
        self.maxPerAccount = maxPerAccount
    }

    /// A tenth of the TTL, at most an hour.
    public var refreshAfterMillis: Int64 { max(1, min(ttlMillis / 10, 3_600_000)) }

    func isExpired(lastUsedAtMillis: Int64, now: Int64) -> Bool {
        lastUsedAtMillis < expiryCutoff(now: now)
    }

    func needsTouch(lastUsedAtMillis: Int64, now: Int64) -> Bool {
        now - lastUsedAtMillis >= refreshAfterMillis
    }

    /// Sessions last used before this are expired.
    func expiryCutoff(now: Int64) -> Int64 {
        now - ttlMillis - refreshAfterMillis
    }
}
