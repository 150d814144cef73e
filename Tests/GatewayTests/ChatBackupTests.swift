import Foundation
import GRDB
import Testing
@testable import Gateway

/// What `chatd --restore` takes for a backup.
@Suite struct ChatBackupTests {
    static func backup() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID().uuidString)")
        _ = try ChatDatabase(directory: directory)
        let file = directory.appendingPathExtension("sqlite")
        _ = try ChatBackup.write(dataDirectory: directory, to: file)
        return file
    }

    @Test func aBackupOfThisVersionIsOne() throws {
        #expect(try ChatBackup.appliedIndex(of: try Self.backup()) == 0)
    }

    /// Its tables may hold what this version would drop without a word.
    @Test func aBackupOfALaterVersionIsRefused() throws {
        let file = try Self.backup()
        try DatabaseQueue(path: file.path).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        #expect(throws: ChatBackupError.newer(file.path)) { try ChatBackup.appliedIndex(of: file) }
    }

    @Test func aMissingFileIsSaidToBeMissing() throws {
        let path = "/nonexistent/backup.sqlite"
        #expect(throws: ChatBackupError.unreadable(path)) { try ChatBackup.appliedIndex(of: URL(fileURLWithPath: path)) }
    }
}
