import SkeinLMDB

/// An index's entries from a key on, in index order (key, then primary key, as LMDB
/// orders a dup-sorted database), read from each of its databases at once (the main one
/// and the recent entries: `IndexEnvironment`), like the merge step of a merge sort.
struct IndexScan {
    private let cursors: [LMDBCursor]
    /// The next entry of each cursor (nil: it has no more).
    private var heads: [LMDBCursor.Entry?]

    init(_ cursors: [LMDBCursor], from low: [UInt8]) throws {
        self.cursors = cursors
        heads = try cursors.map { try $0.seek(low) }
    }

    /// The next entry of them all; nil after the last.
    mutating func next() throws -> LMDBCursor.Entry? {
        var smallest: Int? = nil
        for (i, head) in heads.enumerated() {
            guard let head else { continue }
            if let s = smallest, let other = heads[s], !Self.precedes(head, other) { continue }
            smallest = i
        }
        guard let i = smallest else { return nil }
        let entry = heads[i]
        heads[i] = try cursors[i].next()
        return entry
    }

    /// LMDB's order of dup-sorted pairs: key, then value, each by bytes, a prefix first.
    static func precedes(_ a: LMDBCursor.Entry, _ b: LMDBCursor.Entry) -> Bool {
        let c = PairRun.compare(a.key, b.key)
        return c != 0 ? c < 0 : PairRun.compare(a.value, b.value) < 0
    }
}
