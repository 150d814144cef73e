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
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    public func entry(forTokenHash tokenHash: String) -> Entry? {
        entries.withLock { $0[tokenHash] }
    }

    public var count: Int { entries.withLock { $0.count } }

    /// Every entry, by token hash (for tests and checks).
    var all: [String: Entry] { entries.withLock { $0 } }

    /// Reads every session row of `db` in place of what the table held.
    func reload(from db: Database) throws {
        var loaded: [String: Entry] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT token_hash, account_key, last_used_at FROM session")
        while let row = try rows.next() {
            loaded[row[0]] = Entry(accountKey: row[1], lastUsedAtMillis: row[2])
        }
        entries.withLock { $0 = loaded }
    }

    func removeAll() {
        entries.withLock { $0 = [:] }
    }

    /// Applies what a committed transaction did to the session rows, in the order it did it.
    func apply(_ changes: SessionChanges) {
        guard !changes.isEmpty else { return }
        entries.withLock { entries in
            for change in changes.changes {
                switch change {
                case .inserted(let session):
                    entries[session.tokenHash] = Entry(accountKey: session.accountKey, lastUsedAtMillis: session.lastUsedAtMillis)
                case .deleted(let tokenHash):
                    entries[tokenHash] = nil
                case .deletedOfAccount(let key):
                    entries = entries.filter { $0.value.accountKey != key }
                case .touched(let tokenHash, let millis):
                    if let used = entries[tokenHash]?.lastUsedAtMillis, used < millis {
                        entries[tokenHash]?.lastUsedAtMillis = millis
                    }
                case .deletedUnusedBefore(let millis):
                    entries = entries.filter { $0.value.lastUsedAtMillis >= millis }
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
