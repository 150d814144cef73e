import Foundation

/// Reads durations as operators write them on a command line: `30d`, `12h`, `90m`, `45s`,
/// `500ms`, or a bare number of seconds.
public enum DurationText {
    public static func milliseconds(_ text: String) -> Int64? {
        let units: [(suffix: String, millis: Int64)] = [
            ("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
        ]
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let unit = units.first { trimmed.hasSuffix($0.suffix) && Int64(trimmed.dropLast($0.suffix.count)) != nil }
        let digits = unit.map { String(trimmed.dropLast($0.suffix.count)) } ?? trimmed
        guard digits.allSatisfy(\.isASCII), let count = Int64(digits), count > 0 else { return nil }
        let (millis, overflow) = count.multipliedReportingOverflow(by: unit?.millis ?? 1_000)
        return overflow ? nil : millis
    }
}
