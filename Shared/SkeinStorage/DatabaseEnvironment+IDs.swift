import Foundation
import SkeinCore
import SkeinLMDB

/// Ids for records written without their primary key.
///
/// A table whose primary key is declared numeric (`Int`, `Long`, `Float`, `Number`,
/// `BigInt`) numbers its records as Harper does (`resources/Table.ts` `getNewId`): each node
/// takes a range of its own at a random place in the id space (1,024 ids for `Int`, 4,194,304
/// otherwise) where no record has an id yet, and counts up through it; ids already taken
/// (a peer's record that landed in the range) are skipped, and a used-up range is followed
/// by a new one. Nodes never share a range unless two pick the same place by chance, which
/// the size of the id space makes unlikely (2^31 or 2^49 ids). The range lives in this
/// node's `__meta` (`idrange:TABLE`: start, end, next), committed with the writes that use
/// it, so a restart continues where the last commit left. Other tables get a UUID.
extension DatabaseEnvironment {
    func newID(_ txn: LMDBTransaction, _ schema: TableSchema) throws -> JSON {
        guard let type = schema.types[schema.primaryKey], TableSchema.numericTypes.contains(type) else {
            return .string(UUID().uuidString.lowercased())
        }
        let records = try txn.database(StorageLayout.records(schema.name), create: true)!
        let space = IDSpace(type: type)
        let key = Array("idrange:\(schema.name)".utf8)
        var range = try txn.get(metaDB, key).flatMap(IDRange.init(bytes:))
        while true {
            if range == nil || range!.next >= range!.end { range = try space.freeRange(in: txn, records) }
            let id = range!.next
            range!.next += 1
            guard try txn.get(records, KeyCodec.encode(.number(Double(id)))!) == nil else { continue }
            try txn.put(metaDB, key, range!.bytes)
            return .number(Double(id))
        }
    }
}

/// The ids a numeric primary key may take and the size of one node's range (Harper's).
struct IDSpace {
    let max: UInt64
    let rangeSize: UInt64

    init(type: String) {
        max = type == "Int" ? (1 << 31) - 1 : (1 << 49) - 1
        rangeSize = type == "Int" ? 0x400 : 0x400000
    }

    /// A range at a random place with no record in it (a few tries; then any place, the
    /// taken ids in it being skipped one by one).
    func freeRange(in txn: LMDBTransaction, _ records: LMDBDatabase) throws -> IDRange {
        var start = UInt64.random(in: 1...(max - rangeSize))
        for _ in 0..<16 {
            let cursor = try txn.cursor(records)
            let first = try cursor.seek(KeyCodec.encode(.number(Double(start)))!)?.key
            if first.map({ $0.lexicographicallyPrecedes(KeyCodec.encode(.number(Double(start + rangeSize)))!) }) != true { break }
            start = UInt64.random(in: 1...(max - rangeSize))
        }
        return IDRange(start: start, end: start + rangeSize, next: start)
    }
}

/// One node's range of ids for a table: `next` is the next one to hand out.
struct IDRange: Equatable {
    var start: UInt64, end: UInt64, next: UInt64

    init(start: UInt64, end: UInt64, next: UInt64) {
        self.start = start
        self.end = end
        self.next = next
    }

    init?(bytes: [UInt8]) {
        guard bytes.count == 24 else { return nil }
        start = KeyCodec.decodeUInt64(bytes[0..<8])
        end = KeyCodec.decodeUInt64(bytes[8..<16])
        next = KeyCodec.decodeUInt64(bytes[16..<24])
    }

    var bytes: [UInt8] { KeyCodec.encodeUInt64(start) + KeyCodec.encodeUInt64(end) + KeyCodec.encodeUInt64(next) }
}
