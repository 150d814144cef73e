import Foundation
import GRDB
import GRDBSQLite

/// One of a connection's cached statements, driven through SQLite's C API for the statements
/// every send runs on every replica (two account reads, a session read, a message insert, an
/// inbox update, a log entry insert). Through GRDB each of them built a `StatementArguments`
/// array of `DatabaseValue`s and, for a read, a `Row` and its cursor: at saturation
/// `Row.fetchOne` alone was 13% of a follower's profile samples, more than SQLite's own work
/// (issue 13).
///
/// Valid only inside `Database.withDirectStatement`, which resets the statement on the way
/// out, so a read never keeps its snapshot open and the next use starts clean. Errors are
/// GRDB's `DatabaseError`s with SQLite's result code, as GRDB would throw them: a full disk is
/// told apart from other failures the same way whichever path hit it.
struct DirectStatement {
    private let handle: SQLiteStatement
    private let sql: String

    /// `sql` names the statement in errors (GRDB's `Statement.sql` trims a copy at each call).
    fileprivate init(_ statement: Statement, sql: String) {
        handle = statement.sqliteStatement
        self.sql = sql
    }

    /// Binds the 1-based parameter `index`.
    func bind(_ value: Int64, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    /// Binds `text` by its UTF-8 bytes and length, so a NUL inside it is kept.
    func bind(_ text: String, at index: Int32) throws {
        var text = text
        let code = text.withUTF8 { bytes -> Int32 in
            // An empty buffer may have no address, and a NULL pointer would bind SQL NULL.
            guard let start = bytes.baseAddress, !bytes.isEmpty else {
                return sqlite3_bind_text(handle, index, "", 0, SQLITE_TRANSIENT)
            }
            return start.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(handle, index, $0, Int32(bytes.count), SQLITE_TRANSIENT)
            }
        }
        try check(code)
    }

    /// Binds `bytes` as a BLOB; empty bytes bind an empty BLOB, never NULL.
    func bind(_ bytes: some ContiguousBytes, at index: Int32) throws {
        let code = bytes.withUnsafeBytes { buffer in
            buffer.isEmpty
                ? sqlite3_bind_zeroblob(handle, index, 0)
                : sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), SQLITE_TRANSIENT)
        }
        try check(code)
    }

    /// Runs a statement that returns no rows.
    func execute() throws {
        let code = sqlite3_step(handle)
        precondition(code != SQLITE_ROW, "execute() ran a statement that returns rows: \(sql)")
        guard code == SQLITE_DONE else { throw error(code) }
    }

    /// Steps to the first row: false when there is none.
    func stepToRow() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw error(code)
        }
    }

    /// The 0-based `column` of the current row.
    func int64(at column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    /// The 0-based `column` of the current row, as text of its full length (NULs included).
    func text(at column: Int32) -> String {
        // sqlite3_column_text before sqlite3_column_bytes, as SQLite's documentation orders them.
        guard let characters = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: characters, count: count), as: UTF8.self)
    }

    /// Makes the statement ready to run again, with new bindings.
    func reset() {
        // After a failed step, reset returns that failure again; it was thrown already.
        _ = sqlite3_reset(handle)
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw error(code) }
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = sqlite3_db_handle(handle).map { String(cString: sqlite3_errmsg($0)) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}

/// SQLite's "copy the value now" destructor, which its C header spells as a cast of -1.
private let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

extension Database {
    /// Runs `body` with the cached statement for `sql`, reset when `body` returns or throws.
    func withDirectStatement<T>(_ sql: String, _ body: (DirectStatement) throws -> T) throws -> T {
        let statement = DirectStatement(try cachedStatement(sql: sql), sql: sql)
        defer { statement.reset() }
        return try body(statement)
    }
}
