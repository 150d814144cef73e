import GRDB
import ReplicaCore
import Synchronization

/// Every session of the applied state, in memory, so that authenticating a request reads
/// neither SQLite nor a pool thread (issue 13).
///
/// Only the applier changes it: the session rows each of its transactions writes are
/// collected (`SessionChanges`) and applied here once that transaction has committed, and the
/// whole table is read again after a snapshot replaces the state. It may therefore lag the
/// database by one commit, never lead it: a token it misses is looked up in SQLite, and then
/// checked again after a linearizable read.
public final class SessionTable: Sendable {
    public struct Entry: Sendable, Equatable {
        public var accountKey: String
        public var lastUsedAtMillis: Int64
        public var createdAtMillis: Int64

        /// Whether a use after the login was recorded (`ChatCommand.TouchSessions`).
        var hasRecordedUse: Bool { lastUsedAtMillis > createdAtMillis }
    }

    /// The sessions by token hash, and the token hashes of each account's sessions.
    private struct State {
        var entries: [String: Entry] = [:]
        var tokensByAccount: [String: Set<String>] = [:]

        init(_ entries: [String: Entry] = [:]) {
            self.entries = entries
            for (tokenHash, entry) in entries { tokensByAccount[entry.accountKey, default: []].insert(tokenHash) }
        }

        mutating func insert(_ tokenHash: String, _ entry: Entry) {
            remove(tokenHash)
            entries[tokenHash] = entry
            tokensByAccount[entry.accountKey, default: []].insert(tokenHash)
        }

        mutating func remove(_ tokenHash: String) {
            guard let old = entries.removeValue(forKey: tokenHash) else { return }
            tokensByAccount[old.accountKey]?.remove(tokenHash)
            if tokensByAccount[old.accountKey]?.isEmpty == true { tokensByAccount[old.accountKey] = nil }
        }
    }

    private let state = Mutex(State())

    public init() {}

    public func entry(forTokenHash tokenHash: String) -> Entry? {
        state.withLock { $0.entries[tokenHash] }
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// Every entry, by token hash (for tests and checks).
    var all: [String: Entry] { state.withLock { $0.entries } }

    /// The sessions of `accountKey` to close so that at most `keeping` remain. Sessions with
    /// no recorded use since their login go first, oldest first: a client that logs in again
    /// and again leaves those behind, while a use is recorded only once the last recorded one
    /// is a tenth of the TTL old (up to an hour), so among used sessions the recorded use says
    /// little about which is in use now. Then the least recently used; ties by token hash.
    func leastRecentlyUsed(ofAccount accountKey: String, keeping: Int) -> [String] {
        let sessions: [(tokenHash: String, entry: Entry)] = state.withLock { state in
            guard let tokens = state.tokensByAccount[accountKey], tokens.count > keeping else { return [] }
            return tokens.map { ($0, state.entries[$0]!) }
        }
        guard !sessions.isEmpty else { return [] }
        let closingFirst = sessions.sorted { a, b in
            if a.entry.hasRecordedUse != b.entry.hasRecordedUse { return !a.entry.hasRecordedUse }
            if a.entry.lastUsedAtMillis != b.entry.lastUsedAtMillis { return a.entry.lastUsedAtMillis < b.entry.lastUsedAtMillis }
            return a.tokenHash < b.tokenHash
        }
        return closingFirst.prefix(sessions.count - max(keeping, 0)).map(\.tokenHash)
    }

    /// Reads every session row of `db` in place of what the table held.
    func reload(from db: Database) throws {
        var loaded: [String: Entry] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT token_hash, account_key, last_used_at, created_at FROM session")
        while let row = try rows.next() {
            loaded[row[0]] = Entry(accountKey: row[1], lastUsedAtMillis: row[2], createdAtMillis: row[3])
        }
        let reloaded = State(loaded)
        state.withLock { $0 = reloaded }
    }

    func removeAll() {
        state.withLock { $0 = State() }
    }

    /// Applies what a committed transaction did to the session rows, in the order it did it.
    func apply(_ changes: SessionChanges) {
        guard !changes.isEmpty else { return }
        state.withLock { state in
            for change in changes.changes {
                switch change {
                case .inserted(let session):
                    state.insert(session.tokenHash, Entry(
                        accountKey: session.accountKey, lastUsedAtMillis: session.lastUsedAtMillis, createdAtMillis: session.createdAtMillis))
                case .deleted(let tokenHash):
                    state.remove(tokenHash)
                case .deletedOfAccount(let key):
                    for tokenHash in state.tokensByAccount[key] ?? [] { state.remove(tokenHash) }
                case .touched(let tokenHash, let millis):
                    if let used = state.entries[tokenHash]?.lastUsedAtMillis, used < millis {
                        state.entries[tokenHash]?.lastUsedAtMillis = millis
                    }
                case .deletedUnusedBefore(let millis):
                    for (tokenHash, entry) in state.entries where entry.lastUsedAtMillis < millis { state.remove(tokenHash) }
                }
            }
        }
    }
}

/// The session rows one transaction of the applier wrote, mirroring `SQLiteChatStore`'s SQL,
/// for `SessionTable` once the transaction commits.
final class SessionChanges {
    enum Change {
        case inserted(SessionRecord)
        case deleted(tokenHash: String)
        case deletedOfAccount(key: String)
        case touched(tokenHash: String, millis: Int64)
        case deletedUnusedBefore(millis: Int64)
    }

    private(set) var changes: [Change] = []

    var isEmpty: Bool { changes.isEmpty }

    func record(_ change: Change) { changes.append(change) }
}
