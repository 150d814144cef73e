import Glibc
import Synchronization

/// Random 64-bit words from the kernel's generator, read a few kilobytes at a time: drawn one
/// by one (`SystemRandomNumberGenerator`), every message id cost two `getrandom` calls on the
/// epoll thread (issue 13). The words are the kernel's, unchanged; only the reads are batched.
final class BufferedRandomWords: Sendable {
    static let shared = BufferedRandomWords()

    private static let wordsPerRead = 512
    private let state = Mutex<(words: [UInt64], next: Int)>(([], 0))
    /// /dev/urandom, opened once; -1 when it cannot be, and the system generator is used instead.
    private let device: Int32

    init() {
        device = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    }

    deinit {
        if device >= 0 { close(device) }
    }

    func next() -> UInt64 {
        state.withLock { state in
            if state.next == state.words.count {
                guard let words = readWords() else {
                    var generator = SystemRandomNumberGenerator()
                    return generator.next()
                }
                state = (words, 0)
            }
            defer { state.next += 1 }
            return state.words[state.next]
        }
    }

    /// A full buffer of words, or nil when the device cannot give one.
    private func readWords() -> [UInt64]? {
        guard device >= 0 else { return nil }
        var words = [UInt64](repeating: 0, count: Self.wordsPerRead)
        let byteCount = Self.wordsPerRead * MemoryLayout<UInt64>.size
        let filled = words.withUnsafeMutableBytes { buffer -> Bool in
            var offset = 0
            while offset < byteCount {
                let count = read(device, buffer.baseAddress! + offset, byteCount - offset)
                if count > 0 {
                    offset += count
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
        return filled ? words : nil
    }
}
