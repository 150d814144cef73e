import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file that holds the ``ClientConfiguration``, readable by its owner only.
public struct ConfigurationFile: Sendable, Hashable {
    /// The environment variable that overrides the path.
    public static let environmentVariable = "CHAT_CONFIG"

    public var path: String

    public init(path: String) {
        self.path = path
    }

    /// `$CHAT_CONFIG` if set, else `$HOME/.config/chat/config.json`.
    public init(environment: [String: String]) {
        if let path = environment[Self.environmentVariable], !path.isEmpty {
            self.init(path: path)
            return
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        self.init(path: home + "/.config/chat/config.json")
    }

    /// The saved configuration, or an empty one when there is no file yet.
    public func load() throws -> ClientConfiguration {
        guard FileManager.default.fileExists(atPath: path) else {
            return ClientConfiguration()
        }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(ClientConfiguration.self, from: data)
        } catch {
            throw ChatClientError.configurationFile(path: path, reason: "cannot be read (\(error))")
        }
    }

    /// Replaces the file with `configuration`, creating its folder (mode 0700)
    /// if needed. The file has mode 0600 from its creation on: it is written
    /// beside the target with that mode, then renamed over it.
    public func save(_ configuration: ClientConfiguration) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(configuration)
        let folder = (path as NSString).deletingLastPathComponent
        do {
            if !folder.isEmpty {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw ChatClientError.configurationFile(path: path, reason: "its folder cannot be created (\(error))")
        }
        let temporaryPath = path + ".tmp-\(getpid())"
        try writeOwnerOnly(data, to: temporaryPath)
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw ChatClientError.configurationFile(path: path, reason: "cannot be replaced (\(reason))")
        }
    }

    /// Writes `data` to a new file at `target` with mode 0600.
    private func writeOwnerOnly(_ data: Data, to target: String) throws {
        let descriptor = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ChatClientError.configurationFile(path: path, reason: "cannot be created (\(String(cString: strerror(errno))))")
        }
        defer { close(descriptor) }
        guard fchmod(descriptor, 0o600) == 0 else {
            throw ChatClientError.configurationFile(path: path, reason: "cannot be made private (\(String(cString: strerror(errno))))")
        }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return fsync(descriptor) == 0
        }
        guard written else {
            throw ChatClientError.configurationFile(path: path, reason: "cannot be written (\(String(cString: strerror(errno))))")
        }
    }
}
