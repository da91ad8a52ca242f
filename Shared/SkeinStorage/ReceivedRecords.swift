import SkeinCore
import SkeinReplication

/// The records of a `replication_apply` request as the bytes they came in (the bytes the
/// origin stored, passed through auditd and both replicators), so a replicated record is
/// stored without being serialized again. Found by the entry's version and the record's id.
public struct ReceivedRecords: @unchecked Sendable {
    struct Key: Hashable {
        let version: UInt64
        let id: [UInt8]
    }
    private var bytes: [Key: ArraySlice<UInt8>] = [:]

    /// Nil when the request's entries cannot be matched with `entries` (then every record
    /// is serialized from its parsed value, as before).
    public init?(body: [UInt8], entries: [AuditEntry]) {
        guard let range = JSON.topLevelValueRange(of: "entries", in: body),
              let elements = JSON.elementRanges(ofArrayAt: range, in: body), elements.count == entries.count
        else { return nil }
        for (entry, r) in zip(entries, elements) where !entry.records.isEmpty {
            let raw = Array(body[r])
            guard let recordsRange = JSON.topLevelValueRange(of: "records", in: raw),
                  let records = JSON.elementRanges(ofArrayAt: recordsRange, in: raw), records.count == entry.records.count,
                  entry.ids.count >= records.count
            else { return nil }
            for (id, rr) in zip(entry.ids, records) {
                guard let key = KeyCodec.encode(id) else { continue }
                bytes[Key(version: entry.version.rawValue, id: key)] = raw[rr]
            }
        }
    }

    /// The received JSON of the record `id` written at `version`.
    func json(version: HLCTimestamp, id: [UInt8]) -> ArraySlice<UInt8>? {
        bytes[Key(version: version.rawValue, id: id)]
    }
}
