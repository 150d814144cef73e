import Foundation
import Testing

/// Test runs leave their replicas' directories behind; the next run removes those long unused.
@Suite struct TemporaryDirectoryTests {
    @Test func onlyDirectoriesUnchangedForLongAreRemoved() throws {
        let root = TemporaryDirectory.make()
        let abandoned = root.appendingPathComponent("abandoned")
        let recent = root.appendingPathComponent("recent")
        for directory in [abandoned, recent] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        }
        let longAgo = Date().addingTimeInterval(-TemporaryDirectory.abandonedAfter - 3600)
        try FileManager.default.setAttributes([.modificationDate: longAgo], ofItemAtPath: abandoned.path)
        TemporaryDirectory.removeAbandoned(in: root, olderThan: Date().addingTimeInterval(-TemporaryDirectory.abandonedAfter))
        #expect(!FileManager.default.fileExists(atPath: abandoned.path), "a directory unchanged for hours was kept")
        #expect(FileManager.default.fileExists(atPath: recent.path), "a directory in use was removed")
    }
}
