import ReplicaCore

/// When the driver may apply a Ready's committed entries, in a transaction of their own that
/// needs no fsync, before persisting its new entries: then the answers to those writes and the
/// long-polls they wake do not wait for the fsync of entries that came in the same Ready (at
/// low load, the next send's).
enum ApplyBeforePersisting {
    /// The Ready has both, and every committed entry precedes the new ones, so it is on this
    /// replica's disk already: a committed entry is never overwritten, and a leader counts its
    /// own copy only once it is persisted. Applied state lost in a crash is applied again from
    /// the log, and a restart takes an applied index above the recorded commit as committed.
    static func isPossible(for ready: Ready) -> Bool {
        guard ready.snapshot == nil, let lastCommitted = ready.committedEntries.last?.index,
              let firstNew = ready.entries.first?.index
        else { return false }
        return lastCommitted < firstNew
    }
}
