import Foundation
import SkeinCore
import SkeinService

/// The representation a REST client asked for with `Accept`: JSON unless `text/csv` comes
/// before any JSON (or `*/*`) in its list.
enum RESTFormat: Sendable {
    case json, csv

    init(accept: String?) {
        self = .json
        for range in (accept ?? "").split(separator: ",") {
            let type = range.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            if type == "text/csv" { self = .csv; return }
            if type == "application/json" || type == "*/*" || type.hasSuffix("+json") { return }
        }
    }

    var contentType: String { self == .csv ? "text/csv; charset=utf-8" : "application/json" }

    /// Encodes pages of records; `columns` (the CSV header) is asked for only for CSV.
    func encoder(columns: () -> [String]) -> any PageEncoder {
        self == .csv ? CSVPageEncoder(columns: columns()) : ArrayStitcher()
    }

    /// One record.
    func record(_ record: JSON) -> [UInt8] {
        guard self == .csv else { return record.serialized() }
        let columns = CSVWriter.columns(of: [record])
        return Array((CSVWriter.header(columns) + CSVWriter.row(record, columns: columns)).utf8)
    }
}

/// A write's request body must be JSON (`Content-Type` absent or JSON); anything else is 415.
enum RESTBody {
    static func record(_ bytes: [UInt8], contentType: String?) throws -> [String: JSON] {
        if let contentType {
            let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard type == "application/json" || type.hasSuffix("+json") else {
                throw SkeinError(status: 415, "Content-Type '\(contentType)' is not supported: send application/json")
            }
        }
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { throw SkeinError.badRequest("request body is not valid JSON: \(error)") }
        guard case .object(let record) = json else { throw SkeinError.badRequest("request body must be a JSON object (one record), got \(json.typeName)") }
        return record
    }
}
