import Foundation

/// Harper's type inference for CSV fields (`autoCast` and `autoCastJSON` in its
/// utility/common_utils.js): `true`/`TRUE`/`false`/`FALSE`, `null`/`NULL`/`undefined`
/// (null) and `NaN` (null: JSON has no NaN); numbers, except those with a leading zero
/// (`007`, an id or a zip code, stays text; `0.5` is a number) or an exponent; text that
/// looks like a JSON object or array and parses as one. Everything else is the text.
public enum CSVValue {
    public static func cast(_ text: String) -> JSON {
        switch text {
        case "": return .string("")
        case "true", "TRUE": return .bool(true)
        case "false", "FALSE": return .bool(false)
        case "null", "NULL", "undefined", "NaN": return .null
        default: break
        }
        if let number = number(text) { return .number(number) }
        if let first = text.first, let last = text.last, (first == "{" && last == "}") || (first == "[" && last == "]"),
           let parsed = try? JSON.parse(Array(text.utf8)) {
            return parsed
        }
        return .string(text)
    }

    static func number(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.".contains($0)) }) else { return nil }
        if t != "0", t.hasPrefix("0"), !t.hasPrefix("0.") { return nil }
        guard let d = Double(t), d.isFinite else { return nil }
        return d
    }
}
