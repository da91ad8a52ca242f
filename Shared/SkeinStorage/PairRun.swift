import Foundation

/// Key/value pairs in one byte buffer, handed out in LMDB's dup-sorted order (key, then
/// value, each by memcmp). Why not an array of array pairs: sorting those cost more than
/// the puts (reference counting at every move).
struct PairRun {
    private var bytes: [UInt8] = []
    private var pairs: [(start: Int, keyCount: Int, valueCount: Int)] = []

    var isEmpty: Bool { pairs.isEmpty }
    var count: Int { pairs.count }

    mutating func append(_ key: [UInt8], _ value: ArraySlice<UInt8>) {
        pairs.append((bytes.count, key.count, value.count))
        bytes.append(contentsOf: key)
        bytes.append(contentsOf: value)
    }

    func inOrder(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { raw in
            func key(_ p: (start: Int, keyCount: Int, valueCount: Int)) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: raw[p.start..<(p.start + p.keyCount)])
            }
            func value(_ p: (start: Int, keyCount: Int, valueCount: Int)) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: raw[(p.start + p.keyCount)..<(p.start + p.keyCount + p.valueCount)])
            }
            // Sorted by integers: each key's first 16 bytes and each value's first 8
            // (zero-padded: the same order as memcmp-then-shorter wherever they differ), with
            // whole keys and values compared only when those tie. memcmp through a closure
            // at every comparison was most of the sort (many keys tie: a timestamp index
            // holds one key for all records of a write).
            var slots: [Slot] = []
            slots.reserveCapacity(pairs.count)
            for (i, p) in pairs.enumerated() {
                let k = key(p)
                slots.append(Slot(hi: Self.word(k, from: 0), lo: Self.word(k, from: 8), value: Self.word(value(p), from: 0),
                                  keyCount: p.keyCount, pair: i))
            }
            let less = { (a: Slot, b: Slot) -> Bool in
                if a.hi != b.hi { return a.hi < b.hi }
                if a.lo != b.lo { return a.lo < b.lo }
                let pa = pairs[a.pair], pb = pairs[b.pair]
                if a.keyCount <= 16 && b.keyCount <= 16 {
                    // Keys equal up to their length: the shorter first, else equal keys.
                    if a.keyCount != b.keyCount { return a.keyCount < b.keyCount }
                } else {
                    let c = Self.compare(key(pa), key(pb))
                    if c != 0 { return c < 0 }
                }
                if a.value != b.value { return a.value < b.value }
                return Self.compare(value(pa), value(pb)) < 0
            }
            Self.sort(&slots, by: less)
            for slot in slots { try body(key(pairs[slot.pair]), value(pairs[slot.pair])) }
        }
    }

    /// A pair's place in the sort: its key's first 16 bytes, its value's first 8.
    struct Slot {
        var hi: UInt64
        var lo: UInt64
        var value: UInt64
        var keyCount: Int
        var pair: Int

        /// The 16 bits of the key's first 16 bytes that start at byte `at` (0-15; a byte
        /// past them counts as zero).
        @inline(__always)
        func bucket(at byte: Int) -> Int {
            let top = byte < 8 ? (byte == 7 ? hi << 56 | lo >> 8 : hi << (8 * byte)) : (byte == 15 ? lo << 56 : lo << (8 * (byte - 8)))
            return Int(top >> 48)
        }
    }

    /// Fewer pairs than this are sorted by comparisons alone (the buckets' counting would
    /// cost more).
    static let bucketedFrom = 2_048

    /// Sorts `slots` by `less` (which orders by `hi`, then `lo`, first): a counting pass
    /// puts them into 65,536 buckets by the first 16 bits in which their keys' first 16
    /// bytes differ, then each bucket of more than one is sorted by comparisons. A
    /// catch-up's index of random values then needs about one comparison per pair instead
    /// of ~15 (the comparison sort was ~600 instructions a pair, `make bench` under callgrind).
    static func sort(_ slots: inout [Slot], by less: (Slot, Slot) -> Bool) {
        guard slots.count >= bucketedFrom, let first = firstVaryingByte(slots) else {
            slots.sort(by: less)
            return
        }
        var starts = [Int](repeating: 0, count: 65_537)
        for slot in slots { starts[slot.bucket(at: first) + 1] += 1 }
        for b in 1..<starts.count { starts[b] += starts[b - 1] }
        var placed = [Slot](unsafeUninitializedCapacity: slots.count) { buffer, count in
            var next = starts
            for slot in slots {
                let b = slot.bucket(at: first)
                (buffer.baseAddress! + next[b]).initialize(to: slot)
                next[b] += 1
            }
            count = slots.count
        }
        for b in 0..<65_536 where starts[b + 1] - starts[b] > 1 {
            placed[starts[b]..<starts[b + 1]].sort(by: less)
        }
        slots = placed
    }

    /// The first of the 16 prefix bytes (`hi`, then `lo`) that is not the same in every
    /// slot; nil when all prefixes are equal.
    static func firstVaryingByte(_ slots: [Slot]) -> Int? {
        var hiAnd = UInt64.max, hiOr: UInt64 = 0, loAnd = UInt64.max, loOr: UInt64 = 0
        for slot in slots {
            hiAnd &= slot.hi; hiOr |= slot.hi
            loAnd &= slot.lo; loOr |= slot.lo
        }
        if hiAnd != hiOr { return (hiAnd ^ hiOr).leadingZeroBitCount / 8 }
        if loAnd != loOr { return 8 + (loAnd ^ loOr).leadingZeroBitCount / 8 }
        return nil
    }

    /// Bytes `from..<from + 8` of `bytes` as a big-endian integer, zeros past the end.
    @inline(__always)
    static func word(_ bytes: UnsafeRawBufferPointer, from: Int) -> UInt64 {
        var w: UInt64 = 0
        for i in from..<(from + 8) { w = w << 8 | UInt64(i < bytes.count ? bytes[i] : 0) }
        return w
    }

    /// memcmp, then the shorter first (LMDB's order), for arrays.
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in compare(pa, pb) } }
    }

    /// memcmp, then the shorter first.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        let c = n == 0 ? 0 : Int(memcmp(a.baseAddress!, b.baseAddress!, n))
        return c != 0 ? c : a.count - b.count
    }
}
