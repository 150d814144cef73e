import Foundation
import GRDB
import Testing
@testable import Gateway

/// What `chatd --restore` takes for a backup.
@Suite struct ChatBackupTests {
    static func backup() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID().uuidString)")
        try ChatDatabase(directory: directory).write { db in try ReplicaStateTable.set(.appliedIndex, to: 7, in: db) }
        let file = directory.appendingPathExtension("sqlite")
        _ = try ChatBackup.write(dataDirectory: directory, to: file)
        return file
    }

    @Test func aBackupOfThisVersionIsOne() throws {
        #expect(try ChatBackup.appliedIndex(of: try Self.backup()) == 7)
    }

    /// Found by probing: it was written, reported a success, and --restore refused it.
    @Test func aReplicaThatAppliedNothingIsNotBackedUp() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID().uuidString)")
        _ = try ChatDatabase(directory: directory)
        let file = directory.appendingPathExtension("sqlite")
        #expect(throws: ChatBackupError.nothingApplied(directory.path)) { try ChatBackup.write(dataDirectory: directory, to: file) }
        #expect(!FileManager.default.fileExists(atPath: file.path), "the useless copy was left behind")
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
