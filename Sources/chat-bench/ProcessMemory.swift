import Foundation

/// Resident memory of another process, from `/proc/<pid>/status`.
struct ProcessMemory: Codable, Sendable {
    /// Current resident set size.
    var rssKib: Int
    /// Peak resident set size over the process's life (VmHWM).
    var peakRssKib: Int

    static func read(pid: Int32) -> ProcessMemory? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
        }
        guard let rss = field("VmRSS"), let peak = field("VmHWM") else { return nil }
        return ProcessMemory(rssKib: rss, peakRssKib: peak)
    }
}
