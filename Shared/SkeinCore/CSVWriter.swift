import Foundation

/// RFC 4180 output: a field is quoted when it holds a comma, a quote, CR or LF (quotes
/// doubled); rows end with CRLF. Values are written as Harper's export does: text as is,
/// numbers and booleans as JSON text, null and missing as empty, arrays and objects as JSON.
public enum CSVWriter {
    public static func row(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    public static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func text(_ value: JSON?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let s)?: s
        case let v?: v.text
        }
    }
}
