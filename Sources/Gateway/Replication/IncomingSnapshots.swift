import Foundation
import ReplicaCore
import Synchronization

/// State files arriving from a leader in pieces (see `StateFile`), kept under
/// `<data>/incoming-snapshots` until the driver installs them.
///
/// Pieces must arrive in order; the first one (offset 0) starts the file over. Once the last
/// piece is written the file is flushed to disk and renamed to its final name, so a file under
/// that name is always complete. Upload handlers and the driver share this through one mutex.
final class IncomingSnapshots: Sendable {
    enum Outcome: Equatable {
        case accepted
        case complete
        /// The piece does not continue the file being received; the leader must start over.
        case outOfOrder(expectedOffset: Int)
    }

    private struct Partial {
        var metadata: SnapshotMetadata
        var handle: FileHandle
        var size: Int
    }

    let directory: URL
    private let partial = Mutex<Partial?>(nil)

    /// Opens the directory, discarding whatever an earlier run left there.
    init(directory: URL) throws {
        self.directory = directory
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Whether `message` may be handed to the driver: a snapshot message stands for a state file
    /// uploaded before it, and without the whole file it could not be installed. Such a message
    /// is dropped; the leader sends file and message again.
    func isDeliverable(_ message: RaftMessage) -> Bool {
        guard case .snapshotChunk(let chunk) = message.kind else { return true }
        return completedFile(for: chunk.metadata) != nil
    }

    func completedFile(for metadata: SnapshotMetadata) -> URL? {
        let url = completeURL(metadata)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// Writes one piece of the state file for the snapshot `metadata`, `totalBytes` long in all.
    func receive(_ piece: [UInt8], at offset: Int, of totalBytes: Int, for metadata: SnapshotMetadata) throws -> Outcome {
        try partial.withLock { partial in
            if offset == 0 {
                if let abandoned = partial {
                    try? abandoned.handle.close()
                    try? FileManager.default.removeItem(at: partialURL(abandoned.metadata))
                    partial = nil
                }
                let url = partialURL(metadata)
                guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
                }
                partial = Partial(metadata: metadata, handle: try FileHandle(forWritingTo: url), size: 0)
            }
            guard var current = partial, current.metadata == metadata, current.size == offset,
                  offset + piece.count <= totalBytes
            else {
                return .outOfOrder(expectedOffset: partial?.metadata == metadata ? partial?.size ?? 0 : 0)
            }
            try current.handle.write(contentsOf: piece)
            current.size += piece.count
            guard current.size == totalBytes else {
                partial = current
                return .accepted
            }
            try current.handle.synchronize()
            try current.handle.close()
            partial = nil
            try? FileManager.default.removeItem(at: completeURL(metadata))
            try FileManager.default.moveItem(at: partialURL(metadata), to: completeURL(metadata))
            return .complete
        }
    }

    /// Deletes complete files for snapshots at or before `index`: installed or overtaken.
    func removeCompleted(upTo index: LogIndex) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix("snapshot-") {
            let parts = name.dropFirst("snapshot-".count).split(separator: ".").first?.split(separator: "-") ?? []
            if parts.count == 2, let fileIndex = UInt64(parts[1]), fileIndex <= index.rawValue {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            }
        }
    }

    private func completeURL(_ metadata: SnapshotMetadata) -> URL {
        directory.appendingPathComponent("snapshot-\(metadata.term.rawValue)-\(metadata.index.rawValue).sqlite")
    }

    private func partialURL(_ metadata: SnapshotMetadata) -> URL {
        directory.appendingPathComponent("partial-\(metadata.term.rawValue)-\(metadata.index.rawValue).sqlite")
    }
}
