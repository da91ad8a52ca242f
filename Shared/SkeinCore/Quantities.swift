/// Parsers for the human-friendly quantities in configuration (`3d`, `100K`).
public enum Quantities {
    /// `30s`, `15m`, `12h`, `3d`, `1w`, or a bare number of seconds. Returns seconds.
    public static func parseDuration(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let last = t.last else { return nil }
        if t.hasSuffix("ms") {
            guard let n = Double(t.dropLast(2)), n >= 0, n.isFinite else { return nil }
            return n / 1000
        }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800]
        if let unit = units[last] {
            guard let n = Double(t.dropLast()), n >= 0, n.isFinite else { return nil }
            return n * unit
        }
        guard let n = Double(t), n >= 0, n.isFinite else { return nil }
        return n
    }

    /// `100K`, `10M`, `1G`, `512` (bytes); an optional trailing `B`. Returns bytes.
    public static func parseSize(_ text: String) -> UInt64? {
        var t = text.trimmingCharacters(in: .whitespaces).uppercased()
        if t.hasSuffix("B") { t.removeLast() }
        guard let last = t.last else { return nil }
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let unit = units[last] {
            guard let n = Double(t.dropLast()), n >= 0, n.isFinite else { return nil }
            return UInt64(exactly: (n * Double(unit)).rounded(.down))
        }
        guard let n = UInt64(t) else { return nil }
        return n
    }
}

import Foundation
