import Synchronization

/// Lets the same log line through at most once per `interval`, and says how many were held
/// back when it next lets it through: a scanner, or a peer with an untrusted certificate,
/// makes libmicrohttpd report one failed handshake per connection, tens per second.
final class RepeatedLogLines: Sendable {
    private struct Seen {
        var lastLogged: ContinuousClock.Instant
        var heldBack: Int
    }

    private let interval: Duration
    private let seen = Mutex<[String: Seen]>([:])
    /// Distinct lines remembered at most; beyond it the oldest are forgotten.
    private static let capacity = 64

    init(interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// The text to log for `line` now, or nil to hold it back.
    func admit(_ line: String, at now: ContinuousClock.Instant = .now) -> String? {
        seen.withLock { seen in
            if var entry = seen[line], now - entry.lastLogged < interval {
                entry.heldBack += 1
                seen[line] = entry
                return nil
            }
            let heldBack = seen[line]?.heldBack ?? 0
            if seen[line] == nil && seen.count >= Self.capacity,
               let oldest = seen.min(by: { $0.value.lastLogged < $1.value.lastLogged })?.key {
                seen[oldest] = nil
            }
            seen[line] = Seen(lastLogged: now, heldBack: 0)
            return heldBack == 0 ? line : "\(line) (and \(heldBack) more like it since it was last logged)"
        }
    }
}
