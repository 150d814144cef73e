import Foundation

/// Makes state files for followers that need a snapshot, under `<data>/outgoing-snapshots`.
/// Copying a large database takes seconds, so it runs on a thread of its own, away from the
/// event loops and the driver.
struct OutgoingStateFiles: Sendable {
    let database: ChatDatabase
    let directory: URL

    /// Opens the directory, discarding files an earlier run left there.
    init(database: ChatDatabase) throws {
        self.database = database
        directory = database.directory.appendingPathComponent("outgoing-snapshots")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A fresh copy of the state; the caller deletes it when sent.
    func makeFile() async throws -> URL {
        let url = directory.appendingPathComponent("state-\(UUID().uuidString).sqlite")
        let database = database
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                do {
                    try database.copy(to: url)
                    continuation.resume()
                } catch {
                    // A copy cut short (a full disk, say) must not keep the space it took.
                    try? FileManager.default.removeItem(at: url)
                    continuation.resume(throwing: error)
                }
            }
        }
        return url
    }
}
