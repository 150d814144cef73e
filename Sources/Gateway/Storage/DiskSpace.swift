import Foundation
import GRDB

/// The free space on the filesystem of a replica's data directory, and whether it is below
/// the reserve (`--min-free-disk`) under which the replica takes no new writes.
///
/// The reserve is what lets a nearly full disk be survived gracefully: writes are refused
/// with 503 `storage_full` while the replica still has room for what Raft itself must
/// persist (terms, votes, entries its leader sends). Should the disk fill completely anyway,
/// the driver holds its batch and retries (`StorageFailure`).
struct DiskSpace: Sendable {
    let directory: URL
    let minimumFreeBytes: UInt64

    /// Bytes an unprivileged process may still write; nil when the filesystem cannot be asked.
    func availableBytes() -> UInt64? {
        var info = statvfs()
        guard statvfs(directory.path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    var isBelowReserve: Bool {
        guard minimumFreeBytes > 0, let available = availableBytes() else { return false }
        return available < minimumFreeBytes
    }
}

/// Tells a write that failed for want of space (or another I/O error the disk may recover
/// from) from one that shows a bug: the first is held and retried, the second stops the replica.
enum StorageFailure {
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_FULL || error.resultCode == .SQLITE_IOERR
    }
}

/// Reads sizes as operators write them: `64MiB`, `1GiB`, `2TiB`, `500MB`, `4096`, `0` (no reserve).
public enum ByteCountText {
    public static func bytes(_ text: String) -> UInt64? {
        let units: [(suffix: String, bytes: UInt64)] = [
            ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40),
            ("kb", 1_000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("tb", 1_000_000_000_000), ("b", 1),
        ]
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let unit = units.first { trimmed.hasSuffix($0.suffix) }
        let digits = unit.map { String(trimmed.dropLast($0.suffix.count)) } ?? trimmed
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let count = UInt64(digits) else {
            return nil
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: unit?.bytes ?? 1)
        return overflow ? nil : bytes
    }
}
