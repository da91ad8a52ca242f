/// RFC 4180 CSV, read incrementally: bytes go in (`feed`) in any chunks, whole rows come out,
/// so a file of any size is read in bounded memory. Quoted fields may hold commas, CR/LF and
/// doubled quotes; a UTF-8 byte-order mark at the start is skipped; rows end with LF or CRLF;
/// empty lines are skipped (as Harper's loader does). Errors name the 1-based line.
public struct CSVReader: Sendable {
    public struct Failure: Error, Equatable, CustomStringConvertible, Sendable {
        public let line: Int
        public let problem: String
        public var description: String { "CSV line \(line): \(problem)" }

        public init(line: Int, problem: String) {
            self.line = line
            self.problem = problem
        }
    }

    /// The most fields one row may have, and the longest field (bytes): a hostile file cannot
    /// make one row unbounded.
    public static let maxFields = 10_000
    public static let maxFieldBytes = 16 << 20

    private var field: [UInt8] = []
    private var row: [String] = []
    private var inQuotes = false
    /// Just saw a quote inside a quoted field: a second one is a literal quote, anything
    /// else ends the quotes.
    private var quotePending = false
    private var fieldWasQuoted = false
    private var atStart = true
    private var bomChecked = 0
    private var pendingCR = false
    /// The line the current row started on, and the line being read.
    private var rowLine = 1
    private var line = 1

    public init() {}

    /// The rows completed by `bytes`.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(Failure) -> [[String]] {
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(Failure) -> [[String]] in try feed(buffer: buffer) }
        }
        if let contiguous { return try contiguous.get() }
        var rows: [[String]] = []
        for b in bytes {
            if let done = try step(b) { rows.append(done) }
        }
        return rows
    }

    /// `feed` over contiguous bytes: the bytes of a field between the bytes that mean
    /// something (a quote, and outside quotes a comma, CR or LF) are copied as one run,
    /// not one at a time, which keeps a 200 MB load from spending its time here.
    private mutating func feed(buffer: UnsafeBufferPointer<UInt8>) throws(Failure) -> [[String]] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var rows: [[String]] = []
        var i = 0
        while i < buffer.count {
            var end = i
            if bomChecked == 3 && !pendingCR && !quotePending {
                if inQuotes {
                    while end < buffer.count && buffer[end] != quote { end += 1 }
                } else if !fieldWasQuoted {
                    while end < buffer.count, buffer[end] != quote, buffer[end] != comma, buffer[end] != lf, buffer[end] != cr { end += 1 }
                }
            }
            if end > i {
                let run = UnsafeBufferPointer(rebasing: buffer[i..<end])
                guard field.count + run.count <= Self.maxFieldBytes else { throw Failure(line: rowLine, problem: "a field longer than \(Self.maxFieldBytes) bytes") }
                if inQuotes { line += run.count(where: { $0 == lf }) }
                field.append(contentsOf: run)
                i = end
                continue
            }
            if let done = try step(buffer[i]) { rows.append(done) }
            i += 1
        }
        return rows
    }

    /// One byte: the byte-order mark at the start, then `take`.
    private mutating func step(_ b: UInt8) throws(Failure) -> [String]? {
        if bomChecked < 3 {
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            if atStart && b == bom[bomChecked] {
                bomChecked += 1
                return nil
            }
            if bomChecked > 0 && bomChecked < 3 { field += bom[0..<bomChecked] }
            bomChecked = 3
        }
        atStart = false
        return try take(b)
    }

    /// The last row when the input did not end with a newline; fails on an open quote.
    public mutating func finish() throws(Failure) -> [[String]] {
        if inQuotes && !quotePending { throw Failure(line: rowLine, problem: "a quoted field is not closed") }
        if quotePending { quotePending = false; inQuotes = false }
        guard !field.isEmpty || !row.isEmpty || fieldWasQuoted else { return [] }
        return try endRow().map { [$0] } ?? []
    }

    private mutating func take(_ b: UInt8) throws(Failure) -> [String]? {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        if b == lf { line += 1 }
        if inQuotes {
            if quotePending {
                quotePending = false
                if b == quote {
                    try append(quote)
                    return nil
                }
                inQuotes = false  // the quote closed the field; `b` is what follows it
            } else if b == quote {
                quotePending = true
                return nil
            } else {
                try append(b)
                return nil
            }
        }
        if pendingCR {
            pendingCR = false
            if b == lf { return try endRow() }
            try append(cr)
        }
        switch b {
        case comma:
            try endField()
        case lf:
            return try endRow()
        case cr:
            pendingCR = true
        case quote:
            guard field.isEmpty, !fieldWasQuoted else { throw Failure(line: line, problem: "a quote inside an unquoted field (quote the whole field and double the quote)") }
            inQuotes = true
            fieldWasQuoted = true
        default:
            if fieldWasQuoted { throw Failure(line: line, problem: "text after a closing quote") }
            try append(b)
        }
        return nil
    }

    private mutating func append(_ b: UInt8) throws(Failure) {
        guard field.count < Self.maxFieldBytes else { throw Failure(line: rowLine, problem: "a field longer than \(Self.maxFieldBytes) bytes") }
        field.append(b)
    }

    private mutating func endField() throws(Failure) {
        guard let text = String(validating: field, as: UTF8.self) else { throw Failure(line: line, problem: "invalid UTF-8") }
        row.append(text)
        guard row.count <= Self.maxFields else { throw Failure(line: rowLine, problem: "more than \(Self.maxFields) fields") }
        field.removeAll(keepingCapacity: true)
        fieldWasQuoted = false
    }

    private mutating func endRow() throws(Failure) -> [String]? {
        let blank = row.isEmpty && field.isEmpty && !fieldWasQuoted
        if blank {
            rowLine = line
            return nil
        }
        try endField()
        let done = row
        row.removeAll(keepingCapacity: true)
        rowLine = line
        return done
    }
}
