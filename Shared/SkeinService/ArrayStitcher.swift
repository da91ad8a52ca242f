import SkeinCore

/// Joins JSON arrays (`[a,b]`, `[]`, `[c]`) into one (`[a,b,c]`) without parsing their
/// elements: each page is a serialized array, so only its brackets are cut.
public struct ArrayStitcher: Sendable {
    public init() {}

    private var wroteElement = false

    public mutating func open(_ page: [UInt8]) -> [UInt8] {
        [UInt8(ascii: "[")] + ((try? append(page)) ?? [])
    }

    public mutating func append(_ page: [UInt8]) throws -> [UInt8] {
        guard page.count >= 2, page.first == UInt8(ascii: "["), page.last == UInt8(ascii: "]") else {
            throw SkeinError.internal("a result page is not a JSON array")
        }
        let inner = page[1..<(page.count - 1)]
        guard !inner.isEmpty else { return [] }
        defer { wroteElement = true }
        return wroteElement ? [UInt8(ascii: ",")] + inner : Array(inner)
    }

    public func close() -> [UInt8] { [UInt8(ascii: "]")] }
}
