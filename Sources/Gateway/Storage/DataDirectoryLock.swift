import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Keeps a second chatd out of a data directory for as long as this one runs.
///
/// Two processes on one directory would be one replica twice: each with its own memory of the
/// term and vote, both writing one log, able to vote twice in a term. An exclusive `flock` on
/// `LOCK` is taken before the database is opened and held until the process ends; the kernel
/// releases it however the process ends, `kill -9` included, so a crash never leaves it behind.
final class DataDirectoryLock: Sendable {
    static let fileName = "LOCK"

    private let descriptor: Int32

    init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(Self.fileName).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw DataDirectoryLockError.cannotOpen(path: path, errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.recordedProcess(descriptor)
            close(descriptor)
            throw DataDirectoryLockError.held(directory: directory.path, processID: holder)
        }
        // For the operator who finds the directory taken: which process holds it.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, text, text.count, 0)
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    private static func recordedProcess(_ descriptor: Int32) -> Int? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &bytes, bytes.count, 0)
        guard count > 0 else { return nil }
        return Int(String(decoding: bytes[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

enum DataDirectoryLockError: Error, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)
    case held(directory: String, processID: Int?)

    var description: String {
        switch self {
        case .cannotOpen(let path, let code):
            "cannot open \(path): \(String(cString: strerror(code)))"
        case .held(let directory, let processID):
            """
            another chatd\(processID.map { " (pid \($0))" } ?? "") is running on the data directory \(directory): \
            stop it first, or give this one a --data-dir of its own
            """
        }
    }
}
