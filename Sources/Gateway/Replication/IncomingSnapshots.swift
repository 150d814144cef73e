import Crypto
import Foundation
import ReplicaCore
import Synchronization

/// One upload of a state file: which snapshot it stands for, an id of its own, and the size
/// and SHA-256 of the whole file. Two leaders may each send a file for the same snapshot
/// (both compacted at the same index); their pieces must never be joined into one file.
struct StateFileTransfer: Equatable, Sendable {
    var metadata: SnapshotMetadata
    var id: String
    var totalBytes: Int
    /// Lowercase hex.
    var sha256: String

    static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { $0.isASCIIHexDigitOrDash }
    }

    static func isValidDigest(_ digest: String) -> Bool {
        digest.utf8.count == 64 && digest.utf8.allSatisfy { $0.isASCIIHexDigitOrDash && $0 != UInt8(ascii: "-") }
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.hexadecimal
    }
}

extension UInt8 {
    fileprivate var isASCIIHexDigitOrDash: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || self == UInt8(ascii: "-")
    }
}

/// State files arriving from a leader in pieces (see `StateFile`), kept under
/// `<data>/incoming-snapshots` until the driver installs them.
///
/// Pieces must arrive in order and belong to one transfer; the first one (offset 0) starts the
/// file over. Once the last piece is written the file is flushed to disk, and only if its
/// SHA-256 is the transfer's is it renamed to its final name, so a file under that name is
/// always complete and exactly what its leader sent. Upload handlers and the driver share this
/// through one mutex.
final class IncomingSnapshots: Sendable {
    enum Outcome: Equatable {
        case accepted
        case complete
        /// The piece does not continue the file being received; the leader must start over.
        case outOfOrder(expectedOffset: Int)
        /// The whole file arrived but is not what the transfer's checksum promised: discarded.
        case checksumMismatch
    }

    private struct Partial {
        var transfer: StateFileTransfer
        var handle: FileHandle
        var size: Int
        var hasher = SHA256()
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

    /// Writes one piece of the state file of `transfer`.
    func receive(_ piece: [UInt8], at offset: Int, of transfer: StateFileTransfer) throws -> Outcome {
        let metadata = transfer.metadata
        return try partial.withLock { partial in
            if offset == 0 {
                if let abandoned = partial {
                    try? abandoned.handle.close()
                    try? FileManager.default.removeItem(at: partialURL(abandoned.transfer.metadata))
                    partial = nil
                }
                let url = partialURL(metadata)
                guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
                }
                partial = Partial(transfer: transfer, handle: try FileHandle(forWritingTo: url), size: 0)
            }
            guard var current = partial, current.transfer == transfer, current.size == offset,
                  offset + piece.count <= transfer.totalBytes
            else {
                return .outOfOrder(expectedOffset: partial?.transfer == transfer ? partial?.size ?? 0 : 0)
            }
            try current.handle.write(contentsOf: piece)
            current.hasher.update(data: piece)
            current.size += piece.count
            guard current.size == transfer.totalBytes else {
                partial = current
                return .accepted
            }
            try current.handle.synchronize()
            try current.handle.close()
            partial = nil
            guard StateFileTransfer.hex(current.hasher.finalize()) == transfer.sha256 else {
                try? FileManager.default.removeItem(at: partialURL(metadata))
                return .checksumMismatch
            }
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
