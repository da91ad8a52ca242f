import SkeinCore

/// The paging fields of a request's header (docs/INTERFACES.md §5 "Paged results"): a
/// caller that can take a long result in pieces says how big a piece may be (`page`), and
/// asks for the next piece with the token the last reply carried (`continue`).
public struct PageRequest: Sendable, Equatable {
    public var rows: Int
    public var bytes: Int
    /// The `more` token of the previous page; nil for the first page.
    public var continuation: String?
    /// Set on a last request that gives up on the rest (the HTTP client went away).
    public var cancel = false

    public static let defaultRows = 1000
    public static let defaultBytes = 1 << 20

    public init(rows: Int = PageRequest.defaultRows, bytes: Int = PageRequest.defaultBytes, continuation: String? = nil) {
        self.rows = rows
        self.bytes = bytes
        self.continuation = continuation
    }

    /// nil when the header asks for the whole result at once.
    public init?(header: JSON) {
        guard let page = header["page"], case .object = page else { return nil }
        rows = max(1, min(100_000, page["rows"]?.intValue ?? Self.defaultRows))
        bytes = max(1, min(64 << 20, page["bytes"]?.intValue ?? Self.defaultBytes))
        continuation = header["continue"]?.stringValue
        cancel = header["cancel"]?.boolValue ?? false
    }

    public func adding(to header: JSON) -> JSON {
        var h = header.adding("page", ["rows": JSON(rows), "bytes": JSON(bytes)])
        if let continuation { h = h.adding("continue", .string(continuation)) }
        if cancel { h = h.adding("cancel", true) }
        return h
    }
}
