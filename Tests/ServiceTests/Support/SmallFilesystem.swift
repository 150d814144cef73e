import Foundation

/// A size-limited tmpfs mounted for one test, to fill up on purpose. Needs root (CI and this
/// machine run tests as root); tests that use it are skipped elsewhere.
struct SmallFilesystem {
    let mountPoint: URL
    var filler: URL { mountPoint.appendingPathComponent("filler") }

    static let canMount: Bool = {
        guard let probe = try? SmallFilesystem(megabytes: 1) else { return false }
        probe.unmount()
        return true
    }()

    init(megabytes: Int) throws {
        mountPoint = TemporaryDirectory.make()
        try Self.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", mountPoint.path])
    }

    func unmount() {
        _ = try? Self.run("/usr/bin/umount", ["-l", mountPoint.path])
    }

    var availableBytes: UInt64 {
        var info = statvfs()
        guard statvfs(mountPoint.path, &info) == 0 else { return 0 }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// Grows the filler file until at most `bytes` are left free (all of it with 0).
    func fill(leavingFree bytes: UInt64) throws {
        let descriptor = open(filler.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else { throw TestFailure("cannot open \(filler.path)") }
        defer { close(descriptor) }
        for chunk in [1 << 20, 4_096, 1] {
            let zeros = [UInt8](repeating: 0, count: chunk)
            while availableBytes > bytes {
                let wanted = min(UInt64(chunk), availableBytes - bytes)
                if write(descriptor, zeros, Int(wanted)) <= 0 { break }
            }
        }
    }

    func removeFiller() {
        try? FileManager.default.removeItem(at: filler)
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }
}
