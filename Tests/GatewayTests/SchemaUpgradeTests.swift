import Foundation
import GRDB
import Testing
@testable import Gateway

/// A replica upgraded in place opens the database an older release wrote, whatever schema
/// version that was, and keeps what it held.
@Suite struct SchemaUpgradeTests {
    static let earlierVersions = Array(Schema.migrator().migrations.dropLast())

    @Test(arguments: earlierVersions)
    func aDatabaseWrittenAtAnEarlierSchemaOpensAndKeepsItsSessions(version: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let old = try DatabaseQueue(path: directory.appendingPathComponent("chat.sqlite").path)
            try Schema.migrator().migrate(old, upTo: version)
            try old.write { db in
                try db.execute(sql: "INSERT INTO session (token_hash, account_key, created_at) VALUES ('t', 'ann', 1234)")
                if try db.columns(in: "session").contains(where: { $0.name == "last_used_at" }) {
                    try db.execute(sql: "UPDATE session SET last_used_at = 1234")
                }
            }
        }
        let database = try ChatDatabase(directory: directory)
        let applied = try database.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(Set(applied) == Set(Schema.migrator().migrations), "migrations applied: \(applied)")
        let lastUsed = try database.read { db in try Int.fetchOne(db, sql: "SELECT last_used_at FROM session WHERE token_hash = 't'") }
        #expect(lastUsed == 1234, "a session from before expiry counts as used when it was opened")
    }
}
