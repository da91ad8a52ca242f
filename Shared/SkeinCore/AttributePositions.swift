import Foundation

/// Attribute names numbered in the order a reader meets them in records, looked up by
/// their bytes. Why: making a `String` of every member name of every record and hashing it
/// cost more than the index puts of a catch-up. Records of a table mostly have the same
/// members in the same (sorted) order, so the name after position `n` is nearly always
/// `n + 1`: a look-up is one length check and one `memcmp`.
public struct AttributePositions {
    public private(set) var names: [String] = []
    private var utf8: [[UInt8]] = []
    private var byName: [String: Int] = [:]
    /// The position found last: the next name is looked for after it first.
    private var last = -1

    public init() {}

    public var count: Int { names.count }

    /// The position of the member name `name` of `record` (the bytes `ObjectMembers` read
    /// it from), numbering it if it is new.
    public mutating func position(of name: MemberName, in record: [UInt8]) -> Int {
        switch name {
        case .escaped(let text):
            return position(of: text)
        case .plain(let range):
            let n = utf8.count
            if n > 0 {
                // From the one after the last found, round the table once.
                var i = last + 1 == n ? 0 : last + 1
                for _ in 0..<n {
                    if Self.equal(utf8[i], record, range) {
                        last = i
                        return i
                    }
                    i = i + 1 == n ? 0 : i + 1
                }
            }
            return position(of: String(decoding: record[range], as: UTF8.self))
        }
    }

    /// The position of `name`, numbering it if it is new.
    public mutating func position(of name: String) -> Int {
        if let i = byName[name] {
            last = i
            return i
        }
        let i = names.count
        names.append(name)
        utf8.append(Array(name.utf8))
        byName[name] = i
        last = i
        return i
    }

    private static func equal(_ name: [UInt8], _ record: [UInt8], _ range: Range<Int>) -> Bool {
        guard name.count == range.count else { return false }
        return name.withUnsafeBytes { a in
            record.withUnsafeBytes { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress! + range.lowerBound, a.count) == 0 }
        }
    }
}
