import SkeinCore

/// Turns the pages of a paged result (each a JSON array) into one response body, a page at
/// a time: JSON (`ArrayStitcher`) or CSV (`CSVPageEncoder`).
public protocol PageEncoder: Sendable {
    mutating func open(_ page: [UInt8]) throws -> [UInt8]
    mutating func append(_ page: [UInt8]) throws -> [UInt8]
    func close() -> [UInt8]
}

extension ArrayStitcher: PageEncoder {}

/// CSV for pages of records: the header row first, then each page's rows.
public struct CSVPageEncoder: PageEncoder {
    let columns: [String]

    public init(columns: [String]) { self.columns = columns }

    public mutating func open(_ page: [UInt8]) throws -> [UInt8] {
        Array(CSVWriter.header(columns).utf8) + (try append(page))
    }

    public mutating func append(_ page: [UInt8]) throws -> [UInt8] {
        guard case .array(let records) = try? JSON.parse(page) else { throw SkeinError.internal("a result page is not a JSON array") }
        return Array(CSVWriter.rows(records, columns: columns).utf8)
    }

    public func close() -> [UInt8] { [] }
}
