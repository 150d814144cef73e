#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes text straight to standard output or standard error, unbuffered, so
/// that each line reaches a pipe at once and no shared C stream is touched.
public enum Console {
    public static func writeOutput(_ text: String) {
        _ = write(text, to: STDOUT_FILENO)
    }

    /// Writes `text` to standard output, or throws when it cannot all be written: a closed
    /// pipe (SwiftNIO ignores SIGPIPE, so a closed reader does not end the process) or a
    /// full disk. For output that must not be taken as delivered when it was not.
    public static func deliverOutput(_ text: String) throws(ChatClientError) {
        if let failure = write(text, to: STDOUT_FILENO) {
            throw .outputFailed(String(cString: strerror(failure)))
        }
    }

    public static func writeError(_ text: String) {
        _ = write(text, to: STDERR_FILENO)
    }

    /// The errno of a failed write; nil when all of `text` was written.
    private static func write(_ text: String, to descriptor: Int32) -> Int32? {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if count < 0 && errno == EINTR {
                continue
            }
            guard count > 0 else {
                return count < 0 ? errno : EIO
            }
            offset += count
        }
        return nil
    }

    private static func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Darwin)
            Darwin.write(descriptor, bytes, count)
        #elseif canImport(Musl)
            Musl.write(descriptor, bytes, count)
        #else
            Glibc.write(descriptor, bytes, count)
        #endif
    }
}
