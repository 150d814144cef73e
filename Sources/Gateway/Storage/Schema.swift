import GRDB

/// The SQLite schema: chat state, and (in the same database) the Raft log and hard state, so
/// applying entries and recording how far they were applied commit in one transaction.
enum Schema {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE account (
                    key TEXT PRIMARY KEY NOT NULL,
                    username TEXT NOT NULL,
                    password_hash TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_seq INTEGER NOT NULL,
                    acked_seq INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE session (
                    token_hash TEXT PRIMARY KEY NOT NULL,
                    account_key TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX session_by_account ON session(account_key);
                CREATE TABLE message (
                    recipient_key TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    id TEXT NOT NULL,
                    sender TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    body TEXT NOT NULL,
                    sent_at INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX message_by_inbox ON message(recipient_key, seq);
                CREATE TABLE idempotency (
                    sender_key TEXT NOT NULL,
                    key TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    message TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (sender_key, key)
                ) WITHOUT ROWID;
                CREATE TABLE replica_state (
                    name TEXT PRIMARY KEY NOT NULL,
                    value INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE raft_entry (
                    log_index INTEGER PRIMARY KEY NOT NULL,
                    term INTEGER NOT NULL,
                    data BLOB NOT NULL
                );
                CREATE TABLE raft_snapshot (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    log_index INTEGER NOT NULL,
                    term INTEGER NOT NULL,
                    data BLOB NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2-membership") { db in
            // Configuration entries in the log and in snapshots; the replica's identity; the
            // replicas this one ever heard from (a wiped replica is told apart by them).
            try db.execute(sql: """
                ALTER TABLE raft_entry ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE raft_snapshot ADD COLUMN membership BLOB NOT NULL DEFAULT x'';
                CREATE TABLE replica_identity (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    cluster_id TEXT NOT NULL,
                    replica_id INTEGER NOT NULL,
                    url TEXT NOT NULL,
                    bootstrap_membership BLOB NOT NULL
                );
                CREATE TABLE peer_contact (
                    replica_id INTEGER PRIMARY KEY NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3-session-expiry") { db in
            // Sessions expire after `--session-ttl` without use; the index finds the expired ones.
            try db.execute(sql: """
                ALTER TABLE session ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
                UPDATE session SET last_used_at = created_at;
                CREATE INDEX session_by_last_use ON session(last_used_at);
                """)
        }
        migrator.registerMigration("v4-joined-through") { db in
            // The replicas a joining replica was told to join through: restarted without its
            // --join flags, it still has someone to ask whether it was removed.
            try db.execute(sql: "CREATE TABLE joined_through (url TEXT PRIMARY KEY NOT NULL);")
        }
        return migrator
    }
}
