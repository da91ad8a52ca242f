import SkeinCore

/// The newest part of this node's log of one database, as the store's commit feed delivered
/// it (each durable commit's entries, in order): what a caught-up publisher sends on without
/// reading the log back through auditd (one process hop and one log read fewer per batch).
///
/// It holds a gap-free run of the log: a commit that does not follow on (the feed dropped
/// one, the replicator started late, the database was re-created: another `log`) starts a
/// new run. A read it cannot answer from the run (`notHeld`) goes to auditd, which has the
/// whole log; so the feed only ever makes reads quicker, never different. Bounded: the
/// oldest entries leave when it holds more than `maxEntries` or `maxBytes`.
public struct RecentLog: Sendable {
    struct Entry: Sendable {
        let origin: String?
        /// As stored; cut to what a peer is sent (without before-images) and parsed to its
        /// header on the first read that wants it (most entries of other origins never are).
        var bytes: [UInt8]
        var header: AuditEntry?
    }

    public let maxEntries: Int
    public let maxBytes: Int
    /// The log's identity (`DatabaseEnvironment.logID`) the run belongs to.
    public private(set) var log: String?
    /// The sequence of `entries[head]`.
    public private(set) var first: UInt64 = 1
    /// The clock's high-water mark committed with the newest entry (an HLC raw value).
    public private(set) var clock: UInt64?
    private var entries: [Entry] = []
    private var head = 0
    private var bytes = 0

    public init(maxEntries: Int = 20_000, maxBytes: Int = 32 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    /// The sequence of the newest entry held; nil when none is.
    public var newest: UInt64? { head < entries.count ? first + UInt64(entries.count - head - 1) : nil }
    public var count: Int { entries.count - head }

    /// One commit's entries (sequences `from`, `from + 1`, ... as stored, before-images
    /// included: kept as they came, only their origin read). Returns false when they did
    /// not follow on and started a new run.
    @discardableResult
    public mutating func receive(log: String, from: UInt64, clock: UInt64?, entries stored: [[UInt8]]) -> Bool {
        let follows = log == self.log && newest.map { $0 + 1 == from } == true
        if !follows {
            self.log = log
            entries.removeAll(keepingCapacity: true)
            head = 0
            bytes = 0
            first = from
        }
        for e in stored {
            entries.append(Entry(origin: AuditEntry.origin(ofStored: e), bytes: e))
            bytes += e.count
        }
        if let clock { self.clock = Swift.max(self.clock ?? 0, clock) }
        trim()
        return follows
    }

    /// The origins of the newest `count` entries held (nil for an entry whose bytes did not
    /// tell its origin): whom a commit just received concerns.
    public func origins(ofNewest count: Int) -> Set<String?> {
        var origins = Set<String?>()
        for e in entries[Swift.max(head, entries.count - count)...] { origins.insert(e.origin) }
        return origins
    }

    /// Whether a commit with entries of `origins` (nil: unknown, as after a new run) is news
    /// to a reader of `wanted` (nil: any). An entry whose origin is unknown concerns everyone.
    public static func concerns(_ origins: Set<String?>?, wanted: Set<String>?) -> Bool {
        guard let origins, let wanted else { return true }
        return origins.contains { $0.map(wanted.contains) ?? true }
    }

    private mutating func trim() {
        while count > 1 && (count > maxEntries || bytes > maxBytes) {
            bytes -= entries[head].bytes.count
            entries[head] = Entry(origin: nil, bytes: [])
            head += 1
            first += 1
        }
        if head > 1024 && head * 2 > entries.count {
            entries.removeSubrange(0..<head)
            head = 0
        }
    }

    public enum Read: Sendable {
        /// Entries from the position (of the origins asked; `read.next` covers the others),
        /// and the bytes of exactly those entries as a JSON array, to go out as they are.
        case served(PublisherMachine.LogRead, ReplicationFrame.RawEntries)
        /// The position is just past the newest entry held: nothing new yet.
        case upToDate
        /// Not in the run (older, or of another log): read the log itself.
        case notHeld
    }

    /// What a log read from `from` gets, as auditd's `audit_stream` would answer it (at most
    /// `max` entries looked at and `maxBytes` of entries, never fewer than one). `log`: the
    /// log the reader streams (nil: any); `oldest`: the oldest retained sequence, as last
    /// read from the log itself (only reported).
    public mutating func read(from: UInt64, log reading: String?, origins: Set<String>?, max: Int, maxBytes: Int, oldest: UInt64) -> Read {
        guard let log, reading == nil || reading == log, let newest, from >= first else { return .notHeld }
        if from == newest + 1 { return .upToDate }
        guard from <= newest else { return .notHeld }
        var out: [AuditEntry] = []
        var sequences: [UInt64] = []
        var list: [UInt8] = [UInt8(ascii: "[")]
        var next = from, looked = 0, size = 0
        while next <= newest && looked < max {
            let i = head + Int(next - first)
            looked += 1
            if let origins, !(entries[i].origin.map(origins.contains) ?? true) {
                next += 1
                continue
            }
            if entries[i].header == nil {
                let sent = AuditEntry.withoutPrevious(stored: entries[i].bytes) ?? entries[i].bytes
                bytes -= entries[i].bytes.count - sent.count
                entries[i].bytes = sent
                entries[i].header = (try? JSON.parse(sent, buildingDepth: 1)).flatMap(AuditEntry.init(json:))
            }
            size += entries[i].bytes.count
            if size > maxBytes && !out.isEmpty { break }
            // An entry that does not read as one, or whose origin the bytes did not tell
            // for sure: auditd decides (it parses such entries whole).
            guard let header = entries[i].header, header.sequence == next, entries[i].origin != nil else { return .notHeld }
            if out.count > 0 { list.append(UInt8(ascii: ",")) }
            list.append(contentsOf: entries[i].bytes)
            out.append(header)
            sequences.append(next)
            next += 1
        }
        list.append(UInt8(ascii: "]"))
        let read = PublisherMachine.LogRead(entries: out, next: next, oldest: oldest, newest: newest, pruned: false, log: log, clock: clock)
        return .served(read, ReplicationFrame.RawEntries(sequences: sequences, bytes: list[...]))
    }
}
