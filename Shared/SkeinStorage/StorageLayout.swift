import SkeinCore
import SkeinReplication

/// Names of the LMDB sub-databases inside one database's environment. One place, because
/// `store` writes them and `auditd` reads and prunes them.
public enum StorageLayout {
    /// Table descriptors, keyed by table name.
    public static let schema = "__schema"
    /// Counters: `seq` (last audit sequence).
    public static let meta = "__meta"
    /// The audit log, keyed by big-endian sequence.
    public static let audit = "__audit"
    /// Records whose secondary index entries wait for a catch-up (`IndexBacklog`).
    public static let indexBacklog = "__index_backlog"

    public static func records(_ table: String) -> String { "t:" + table }
    public static func tombstones(_ table: String) -> String { "x:" + table }
    public static func index(_ table: String, _ attribute: String) -> String { "i:" + table + ":" + attribute }

    public static let sequenceKey: [UInt8] = Array("seq".utf8)
    /// This database's log identity: chosen when the environment is created, so a database
    /// dropped and created again (or a wiped node) has a new log that no peer's cursor into
    /// the old one can be mistaken for.
    public static let logIDKey: [UInt8] = Array("log_id".utf8)
    /// The newest HLC version the store's clock handed out or observed (high-water mark), so
    /// the clock never goes backwards across restarts, whatever the wall clock does.
    public static let clockKey: [UInt8] = Array("hlc".utf8)

    /// Database and table names: letters, digits, `_` and `-`, at most 64 bytes.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 64, !name.hasPrefix("-"), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
        }
    }

    /// Attribute names: any printable text without control characters, at most 250 bytes.
    public static func isValidAttribute(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 250 && !name.utf8.contains { $0 < 0x20 }
    }
}

/// A record as stored: `[version (8 bytes BE)][origin length (1)][origin][record JSON]`.
/// The version and origin are what last-write-wins compares.
public struct StoredRecord: Sendable {
    public var version: HLCTimestamp
    public var origin: String
    public var value: JSON

    public init(version: HLCTimestamp, origin: String, value: JSON) {
        self.version = version
        self.origin = origin
        self.value = value
    }

    public func encoded() -> [UInt8] {
        Self.encode(version: version, origin: origin, json: value.serialized())
    }

    /// The stored form around record JSON that is already serialized.
    public static func encode(version: HLCTimestamp, origin: String, json: [UInt8]) -> [UInt8] {
        // One allocation: this runs for every record written, applied or copied.
        let o = origin.utf8.prefix(255)
        var out: [UInt8] = []
        out.reserveCapacity(9 + o.count + json.count)
        withUnsafeBytes(of: version.rawValue.bigEndian) { out.append(contentsOf: $0) }
        out.append(UInt8(o.count))
        out.append(contentsOf: o)
        out.append(contentsOf: json)
        return out
    }

    /// Where the record JSON starts in stored bytes (after the version, the origin's length
    /// and the origin); nil when they are too short to hold that header.
    static func jsonStart<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> Int? where Bytes.Element == UInt8, Bytes.Index == Int {
        guard bytes.count >= 9 else { return nil }
        let start = 9 + Int(bytes[bytes.startIndex + 8])
        return bytes.count >= start ? start : nil
    }

    /// The record JSON part of stored bytes, without parsing it.
    public static func jsonBytes(_ bytes: [UInt8]) -> ArraySlice<UInt8>? {
        jsonStart(bytes).map { bytes[$0...] }
    }

    /// `jsonBytes` of stored bytes where LMDB holds them (`LMDBTransaction.withValue`): one copy.
    public static func jsonBytes(_ raw: UnsafeRawBufferPointer) -> [UInt8]? {
        jsonStart(raw).map { Array(raw[$0...]) }
    }

    /// The version and origin of stored bytes, without parsing the record.
    public static func version(_ bytes: [UInt8]) -> RecordVersion? {
        guard jsonStart(bytes) != nil else { return nil }
        return RecordVersion(version: HLCTimestamp(rawValue: KeyCodec.decodeUInt64(bytes[0..<8])),
                             origin: String(decoding: bytes[9..<(9 + Int(bytes[8]))], as: UTF8.self))
    }

    public static func decode(_ bytes: [UInt8]) -> StoredRecord? {
        guard bytes.count >= 9 else { return nil }
        let version = HLCTimestamp(rawValue: KeyCodec.decodeUInt64(bytes[0..<8]))
        let n = Int(bytes[8])
        guard bytes.count >= 9 + n else { return nil }
        let origin = String(decoding: bytes[9..<(9 + n)], as: UTF8.self)
        guard let value = try? JSON.parse(bytes[(9 + n)...]) else { return nil }
        return StoredRecord(version: version, origin: origin, value: value)
    }
}
