import SkeinCore
import SkeinService

/// This node's record count per table of each database, for the `record_counts` frames the
/// publisher connections send (docs/INTERFACES.md §8): read from the store
/// (`describe_database`) at most every `maxAgeMillis` per database, whichever connection
/// asks, so N subscribed peers cost one store read, not N.
actor LocalRecordCounts {
    static let maxAgeMillis: UInt64 = 2000

    let store: RPCClient
    /// The last read of each database (nil counts: it failed) and when it was made.
    private var reads: [String: (counts: [String: Int]?, at: UInt64)] = [:]

    init(store: RPCClient) {
        self.store = store
    }

    /// The counts of `database`'s tables, read again when the last read is older than
    /// `maxAgeMillis`; nil when the store could not say (no such database yet, no answer).
    func counts(_ database: String, now: UInt64) async -> [String: Int]? {
        if let last = reads[database], now < last.at + Self.maxAgeMillis { return last.counts }
        reads[database] = (reads[database]?.counts, now)  // one read at a time, also after a failure
        let reply = try? await store.call(op: "describe_database", body: ["database": .string(database)])
        let counts = reply?.objectValue?.compactMapValues { $0["record_count"]?.intValue }
        reads[database] = (counts, now)
        return counts
    }
}
