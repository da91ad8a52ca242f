import SkeinCore

/// The publisher's side of replication for one inbound connection (one peer, one database),
/// as a machine without I/O: the identity checks at `hello`, the log's identity, streaming
/// through a `PublisherSession` (back-pressure, go-back-N resends), pruned logs and holes,
/// a log replaced under the connection, serving a full copy, holding what the peer still
/// needs from pruning, and membership revocation. The caller feeds it frames, the answers
/// to its commands and ticks, and carries out each `Ready`.
///
/// Commands come in two kinds, each answered by its own result: `readLog` (a long poll, run
/// by the caller's pump, one at a time) and the others (run by the caller's frame loop in
/// order). The replicator's `PublisherConnection` runs it over a socket, auditd and the
/// store; the simulation runs the same type over its network and store.
public struct PublisherMachine: Sendable {
    public struct Config: Sendable {
        public var node: String
        public var database: String
        public var revokedSerials: Set<String>
        public var maxInFlight: Int
        public var batchSize: Int
        public var batchBytes: Int
        public var resendAfterMillis: UInt64
        public var holdRefreshMillis: UInt64
        public var membershipCheckMillis: UInt64

        public init(node: String, database: String, revokedSerials: Set<String> = [], maxInFlight: Int = 4, batchSize: Int = 500,
                    batchBytes: Int = 16 << 20, resendAfterMillis: UInt64 = 5000, holdRefreshMillis: UInt64 = 5000,
                    membershipCheckMillis: UInt64 = 1000) {
            self.node = node
            self.database = database
            self.revokedSerials = revokedSerials
            self.maxInFlight = maxInFlight
            self.batchSize = batchSize
            self.batchBytes = batchBytes
            self.resendAfterMillis = resendAfterMillis
            self.holdRefreshMillis = holdRefreshMillis
            self.membershipCheckMillis = membershipCheckMillis
        }
    }

    public enum Input: Sendable {
        /// A frame from the subscriber; `allowed`: the names that may subscribe now (routes
        /// and `hdb_nodes`), read when it says hello.
        case frame(ReplicationFrame, allowed: Set<String>, now: UInt64)
        case stored(StoreResult, now: UInt64)
        /// Time passes: resends, hold refreshes, membership checks, the next read of the log.
        /// `recordCounts`: this node's record count per table of the database, sent to a
        /// subscriber that reads them when they changed or every `recordCountsRefreshMillis`.
        case tick(allowed: Set<String>, now: UInt64, recordCounts: [String: Int]? = nil)
    }

    /// One part of this node's log as auditd reads it (`audit_stream`).
    public struct LogRead: Sendable, Equatable {
        public var entries: [AuditEntry]
        /// The position after the last entry looked at (entries of other origins included).
        public var next: UInt64
        public var oldest: UInt64
        public var newest: UInt64
        /// The position is older than the retained log, or entries at it were deleted.
        public var pruned: Bool
        public var log: String
        /// This node's clock high-water mark read with the log (an HLC raw value): every
        /// write of ours up to it is at or before `newest`.
        public var clock: UInt64?

        public init(entries: [AuditEntry], next: UInt64, oldest: UInt64, newest: UInt64, pruned: Bool, log: String, clock: UInt64? = nil) {
            self.entries = entries
            self.next = next
            self.oldest = oldest
            self.newest = newest
            self.pruned = pruned
            self.log = log
            self.clock = clock
        }
    }

    public enum StoreCommand: Sendable, Equatable {
        /// → `.logIdentity`: this database's log identity (nil: no such database here).
        case logIdentity
        /// → `.bounds`: the oldest retained sequence and the newest (nil: no such database).
        case logBounds(from: UInt64)
        /// → `.log`: entries of `origins` from `from` (a long poll; nil: no such database).
        case readLog(from: UInt64, origins: [String], max: Int, maxBytes: Int)
        /// → `.done`: `peer` still needs the log from `from`.
        case hold(peer: String, from: UInt64)
        /// → `.tables`: our last sequence + 1 (read first), then the tables and, for `system`,
        /// the databases.
        case copyTables
        /// → `.page`: one page of a table in key order (`since`: a start time, ms).
        case exportPage(table: String, after: JSON?, since: UInt64?)
    }

    public enum StoreResult: Sendable, Equatable {
        case logIdentity(String?)
        case bounds(oldest: UInt64, newest: UInt64?)
        case log(LogRead?)
        case tables(resumeFrom: UInt64, tables: [JSON], databases: [String]?)
        case page(table: String, rows: [JSON], last: JSON?, oversized: [JSON])
        case done
    }

    public typealias LogEvent = MachineLogEvent
    public typealias Ready = MachineReady<StoreCommand>

    public struct Status: Sendable, Equatable {
        public var publishing = false
        public var lagEntries: UInt64?
        public var sendingMessage: UInt64?
        /// The subscriber's frontier of this database (`frontier` frames), for tombstone pruning.
        public var peerFrontier: UInt64?
    }

    enum Phase: Sendable, Equatable {
        case awaitingHello
        case identifying(peer: String)
        case serving(peer: String)
    }

    public let config: Config
    public let certificateNames: Set<String>
    public let certificateSerial: String?
    public private(set) var status = Status()
    private var phase: Phase = .awaitingHello
    private var session: PublisherSession
    private var announced: String?
    /// The log identity this connection announced (nil before, or for no such database): a
    /// read answered from elsewhere than the log itself (`RecentLog`) must be of this log.
    public var announcedLog: String? { announced }
    /// A `subscribe` waiting for the log's bounds.
    private var pendingSubscribe: ReplicationMessage?
    private var copySince: UInt64?
    /// The first entry of our log the peer still needs.
    private var hold: UInt64?
    private var lastHoldMillis: UInt64 = 0
    private var holdDue = false
    private var lastMembershipMillis: UInt64 = 0
    /// A `readLog` is out, from this position.
    private var reading: UInt64?
    /// The highest `clock` sent on this connection.
    private var clockSent: UInt64 = 0
    /// The subscriber's hello said it reads `record_counts`; the last counts sent, and when.
    public private(set) var sendsRecordCounts = false
    private var countsSent: (counts: [String: Int], at: UInt64)?
    public static let recordCountsRefreshMillis: UInt64 = 5000

    public init(config: Config, certificateNames: Set<String>, certificateSerial: String?) {
        self.config = config
        self.certificateNames = certificateNames
        self.certificateSerial = certificateSerial
        session = PublisherSession(maxInFlight: config.maxInFlight, batchSize: config.batchSize, resendAfterMillis: config.resendAfterMillis)
    }

    /// The name the subscriber stated in `hello`, whether or not it was accepted.
    public private(set) var stated: String?

    /// The subscriber's name once it passed the identity checks.
    public var peer: String? {
        if case .serving(let peer) = phase { return peer }
        return nil
    }

    public mutating func step(_ input: Input) -> Ready {
        var ready = Ready()
        switch input {
        case .frame(let frame, let allowed, let now):
            receive(frame, allowed: allowed, now: now, &ready)
        case .stored(let result, let now):
            stored(result, now: now, &ready)
        case .tick(let allowed, let now, let recordCounts):
            tick(allowed: allowed, now: now, &ready)
            if let recordCounts, ready.close == nil { send(recordCounts, now: now, &ready) }
        }
        return ready
    }

    /// The identity rule: the name a peer states in `hello` must be one its certificate
    /// carries (CN or DNS SAN) and a route's hostname or an `hdb_nodes` record's name; a
    /// certificate whose serial is revoked is refused whatever it says.
    public static func identityProblem(stated name: String, certificateNames: Set<String>, certificateSerial: String?,
                                       allowed: Set<String>, revoked: Set<String>) -> String? {
        if let certificateSerial, revoked.contains(certificateSerial) {
            return "certificate serial \(certificateSerial) is revoked (tls.revokedSerials)"
        }
        guard certificateNames.contains(name) else {
            return "stated node name \"\(name)\" is not in its certificate (\(certificateNames.sorted().joined(separator: ", ")))"
        }
        guard allowed.contains(name) else {
            return "\"\(name)\" is neither a configured route (replication.routes) nor in hdb_nodes"
        }
        return nil
    }

    private mutating func receive(_ frame: ReplicationFrame, allowed: Set<String>, now: UInt64, _ ready: inout Ready) {
        switch (frame, phase) {
        case (.hello(let name, _, _, let recordCounts), .awaitingHello):
            stated = name
            sendsRecordCounts = recordCounts
            if let problem = Self.identityProblem(stated: name, certificateNames: certificateNames, certificateSerial: certificateSerial,
                                                  allowed: allowed, revoked: config.revokedSerials) {
                ready.close = (problem, true)
                return
            }
            phase = .identifying(peer: name)
            ready.store.append(.logIdentity)
        case (.hello, _):
            ready.close = ("hello sent twice", false)
        case (.message, .awaitingHello), (.message, .identifying):
            ready.close = ("the first frame was not hello", true)
        case (.message(let message), .serving(let peer)):
            serve(message, peer: peer, now: now, &ready)
        }
    }

    private mutating func serve(_ message: ReplicationMessage, peer: String, now: UInt64, _ ready: inout Ready) {
        switch message {
        case .copyBegin(let startTime):
            copySince = startTime
            ready.store.append(.copyTables)
        case .copyPage(let table, let after):
            ready.store.append(.exportPage(table: table, after: after, since: copySince))
        case .subscribe(let from, _, _):
            pendingSubscribe = message
            ready.store.append(.logBounds(from: from))
        case .ack:
            accept(message, oldest: 0, newest: nil, now: now, &ready)
        case .frontier(let version):
            // Frontiers only grow (a late duplicate says less than the last one).
            status.peerFrontier = max(status.peerFrontier ?? 0, version)
        case .batch, .pruned, .copyTables, .copyRows, .recordCounts:
            ready.close = ("a subscriber sent a publisher's message", false)
        }
    }

    /// A `subscribe` (with the log's bounds) or an `ack` through the session.
    private mutating func accept(_ message: ReplicationMessage, oldest: UInt64, newest: UInt64?, now: UInt64, _ ready: inout Ready) {
        let reply = session.receive(message, now: now, oldestRetained: oldest, newest: newest)
        if session.subscribed {
            // A new hold goes to auditd at the next tick; a moving one with the refreshes.
            if hold == nil { holdDue = true }
            hold = session.acknowledged + 1
        }
        if case .pruned(let oldest, let reason)? = reply {
            log(&ready, .info, reason == nil ? "peer's position is older than our retained audit log: it needs a full copy" : "peer needs a full copy",
                ["peer": peer ?? "-", "oldest_retained": "\(oldest)", "reason": reason ?? "pruned"])
        }
        if let reply { ready.frames.append(.message(reply)) }
    }

    private mutating func stored(_ result: StoreResult, now: UInt64, _ ready: inout Ready) {
        switch (result, phase) {
        case (.logIdentity(let identity), .identifying(let peer)):
            // The log's identity: the subscriber keeps it with its cursor, and this connection
            // ends if the log is replaced (the database dropped and created again).
            announced = identity
            phase = .serving(peer: peer)
            status.publishing = true
            ready.frames.append(.hello(node: config.node, time: now, log: identity))
            log(&ready, .info, "peer subscribed", ["peer": peer])
        case (.bounds(let oldest, let newest), .serving):
            guard let message = pendingSubscribe else { return }
            pendingSubscribe = nil
            accept(message, oldest: oldest, newest: newest, now: now, &ready)
        case (.tables(let resumeFrom, let tables, let databases), .serving(let peer)):
            // The copy streams from here afterwards: keep it however long the copy takes.
            hold = resumeFrom
            lastHoldMillis = now
            ready.store.append(.hold(peer: peer, from: resumeFrom))
            log(&ready, .info, "full copy requested", ["peer": peer, "tables": "\(tables.count)", "resume_from": "\(resumeFrom)"])
            ready.frames.append(.message(.copyTables(resumeFrom: resumeFrom, tables: tables, databases: databases)))
        case (.page(let table, let rows, let last, let oversized), .serving):
            if !oversized.isEmpty {
                log(&ready, .error, "rows too big for a replication message are left out of the full copy",
                    ["table": table, "rows": oversized.map(\.text).joined(separator: ",")])
            }
            ready.frames.append(.message(.copyRows(table: table, rows: rows, last: last, oversized: oversized)))
        case (.log(let read), .serving(let peer)):
            streamed(read, peer: peer, now: now, &ready)
        default:
            break
        }
    }

    private mutating func streamed(_ read: LogRead?, peer: String, now: UInt64, _ ready: inout Ready) {
        guard let from = reading else { return }
        reading = nil
        guard let read else { return }  // no such database here (yet): nothing to stream
        if read.log != announced {
            // The database was dropped and created again under this connection: its new log
            // is not the one the peer's cursor points into. Ending the connection makes the
            // peer reconnect, see the new identity and resynchronise.
            log(&ready, .warning, "this database's log restarted: ending the subscription so the peer resynchronises",
                ["peer": peer, "log": announced ?? "-", "new_log": read.log])
            ready.close = ("log restarted", false)
            return
        }
        if read.pruned {
            // Stop until the peer subscribes again (after a full copy, later).
            session.disconnected()
            log(&ready, .info, "peer's position is older than our retained audit log: it needs a full copy",
                ["peer": peer, "oldest_retained": "\(read.oldest)", "reason": "pruned"])
            ready.frames.append(.message(.pruned(oldest: read.oldest)))
            return
        }
        // Rewound (resend, re-subscribe) while we read: read again from the new position.
        guard session.next == from else { return }
        let batch = session.nextBatch(log: read.entries, newest: read.newest, now: now, readThrough: read.next - 1, clock: read.clock)
        status.lagEntries = read.newest > session.acknowledged ? read.newest - session.acknowledged : 0
        if let batch {
            if case .batch(_, _, _, _, let clock?) = batch { clockSent = max(clockSent, clock) }
            ready.frames.append(.message(batch))
            status.sendingMessage = now
        } else if let clock = read.clock, clock > clockSent, session.subscribed, session.acknowledged >= read.newest {
            // Caught up, with a clock the peer has not heard: an empty batch says so, or a
            // subscriber that was already at the end when it subscribed would never learn
            // its watermark of us (and tombstones would never be pruned).
            clockSent = clock
            ready.frames.append(.message(.batch(from: read.newest + 1, through: read.newest, entries: [], newest: read.newest, clock: clock)))
        }
    }

    private mutating func tick(allowed: Set<String>, now: UInt64, _ ready: inout Ready) {
        guard case .serving(let peer) = phase else { return }
        // A node removed from hdb_nodes (remove_node) loses its subscription too, not only
        // its next hello.
        if now >= lastMembershipMillis + config.membershipCheckMillis {
            lastMembershipMillis = now
            if !allowed.contains(peer) {
                ready.close = ("\"\(peer)\" is neither a configured route (replication.routes) nor in hdb_nodes (removed)", true)
                return
            }
        }
        if let hold, holdDue || now >= lastHoldMillis + config.holdRefreshMillis {
            lastHoldMillis = now
            holdDue = false
            ready.store.append(.hold(peer: peer, from: hold))
        }
        session.tick(now: now)
        if reading == nil, session.canSend {
            reading = session.next
            ready.store.append(.readLog(from: session.next, origins: session.origins.sorted(), max: config.batchSize, maxBytes: config.batchBytes))
        }
    }

    /// This node's record counts to a serving subscriber that reads them: when they changed,
    /// and again every `recordCountsRefreshMillis` (so the subscriber knows they are current).
    private mutating func send(_ counts: [String: Int], now: UInt64, _ ready: inout Ready) {
        guard sendsRecordCounts, case .serving = phase else { return }
        if let sent = countsSent, sent.counts == counts, now < sent.at + Self.recordCountsRefreshMillis { return }
        countsSent = (counts, now)
        ready.frames.append(.message(.recordCounts(counts)))
    }

    /// The connection is gone.
    public mutating func disconnected() {
        session.disconnected()
        status.publishing = false
        status.peerFrontier = nil
    }

    private func log(_ ready: inout Ready, _ level: LogEvent.Level, _ message: String, _ metadata: [String: String] = [:]) {
        var metadata = metadata
        metadata["database"] = config.database
        ready.logs.append(LogEvent(level: level, message: message, metadata: metadata))
    }
}
