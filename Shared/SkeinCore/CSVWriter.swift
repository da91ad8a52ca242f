import Foundation

/// Records as CSV (RFC 4180): a header row, then one row a record in the header's order,
/// CRLF line ends. A field is quoted when it holds a comma, quote, CR or LF (quotes
/// doubled); strings are written as they are, other values as their JSON text, a missing
/// attribute or null as an empty field.
public enum CSVWriter {
    public static func header(_ columns: [String]) -> String {
        row(columns)
    }

    public static func row(_ record: JSON, columns: [String]) -> String {
        row(columns.map { field(record[$0] ?? .null) })
    }

    public static func rows(_ records: [JSON], columns: [String]) -> String {
        records.map { row($0, columns: columns) }.joined()
    }

    static func row(_ fields: [String]) -> String {
        fields.map(quoted).joined(separator: ",") + "\r\n"
    }

    static func field(_ value: JSON) -> String {
        switch value {
        case .null: return ""
        case .string(let s): return s
        default: return value.text
        }
    }

    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The attributes of `records` in the order first seen: a header for records of no
    /// fixed shape.
    public static func columns(of records: [JSON]) -> [String] {
        var seen: Set<String> = [], out: [String] = []
        for record in records {
            for key in (record.objectValue ?? [:]).keys.sorted() where seen.insert(key).inserted { out.append(key) }
        }
        return out
    }
}
