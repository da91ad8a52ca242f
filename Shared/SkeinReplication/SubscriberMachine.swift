import SkeinCore

/// The subscriber's side of replication for one (peer, database), as a machine without I/O
/// (the shape of etcd raft's `Step`/`Ready`): the caller feeds it what happened — the
/// connection came up, a frame arrived, the store answered, time passed — and carries out
/// the `Ready` it returns: frames to send, store commands to run (in order, each answered
/// with one `.stored` input), log events, a reason to close. It owns the handshake checks,
/// the start decision (stream, first sync, resync), streaming with acks and cursor policy,
/// clock-skew pauses and the whole full copy (resumable across connections). One instance
/// lives as long as the link; connection state is reset by `.connected`.
///
/// The replicator's `SubscriberLink` runs it over a socket and the store; the simulation
/// runs the same type over its in-memory network and store.
public struct SubscriberMachine: Sendable {
    public struct Config: Sendable {
        public var node: String
        public var peer: String
        public var database: String
        /// A route's `startTime` (ms): nothing older is asked for or copied.
        public var startTime: UInt64?
        public var maxClockSkewMillis: UInt64
        /// Serials this node refuses whatever their chain (`tls.revokedSerials`).
        public var revokedSerials: Set<String>
        /// With `replication.databases: "*"`, a copy of `system` creates the peer's databases.
        public var createsDatabases: Bool
        /// A batch with nothing for us stores its cursor at most this often.
        public var emptyCursorSaveMillis: UInt64
        public var resubscribeAfterMillis: UInt64
        /// Copy progress in the log every this many rows.
        public var copyLogEvery: Int

        public init(node: String, peer: String, database: String, startTime: UInt64? = nil, maxClockSkewMillis: UInt64 = 60_000,
                    revokedSerials: Set<String> = [], createsDatabases: Bool = false, emptyCursorSaveMillis: UInt64 = 5000,
                    resubscribeAfterMillis: UInt64 = 5000, copyLogEvery: Int = 50_000) {
            self.node = node
            self.peer = peer
            self.database = database
            self.startTime = startTime
            self.maxClockSkewMillis = maxClockSkewMillis
            self.revokedSerials = revokedSerials
            self.createsDatabases = createsDatabases
            self.emptyCursorSaveMillis = emptyCursorSaveMillis
            self.resubscribeAfterMillis = resubscribeAfterMillis
            self.copyLogEvery = copyLogEvery
        }
    }

    public enum Input: Sendable {
        /// The connection is up (TLS verified the chain and the peer's name); the serial of
        /// the peer's certificate, for revocation.
        case connected(certificateSerial: String?, now: UInt64)
        case frame(ReplicationFrame, now: UInt64)
        /// The answer to the oldest store command not answered yet.
        case stored(StoreResult, now: UInt64)
        /// `frontier`: this node's frontier of the database (`TombstoneHorizon`), sent to
        /// the peer when it moved (and every few seconds).
        case tick(now: UInt64, frontier: UInt64? = nil)
    }

    /// What the machine needs from the node's store, each answered by one `StoreResult`.
    public enum StoreCommand: Sendable, Equatable {
        /// → `.cursor`: the stored cursor of the peer's log.
        case readCursor
        /// → `.done`: wait for this database's turn to decide on a first sync (one link per
        /// database at a time, replicator-wide), and hold it until `.releaseFirstSyncTurn`.
        case takeFirstSyncTurn
        /// → `.done`.
        case releaseFirstSyncTurn
        /// → `.synced`: whether this node ever applied any peer's entries of the database.
        case syncedFromAnyone
        /// → `.applied`: entries and cursor in one transaction (`replication_apply`).
        case apply(entries: [AuditEntry], through: UInt64, log: String?, restart: Bool)
        /// → `.done`: create these databases where missing (a new node learning the peer's).
        case createDatabases([String])
        /// → `.done`: create the copied tables that are missing here (`copy_tables` descriptions).
        case createTables([JSON])
        /// → `.done`: merge copied rows by last-write-wins (`replication_import`).
        case importRows(table: String, rows: [JSON])
    }

    public enum StoreResult: Sendable, Equatable {
        case cursor(ReplicationCursor)
        case synced(Bool)
        /// The cursor stored after an apply.
        case applied(cursor: UInt64)
        case done
    }

    public typealias LogEvent = MachineLogEvent
    public typealias Ready = MachineReady<StoreCommand>

    /// What `cluster_status` shows of this link.
    public struct Status: Sendable, Equatable {
        public var connected = false
        public var latencyMillis: Double?
        public var cursor: UInt64 = 0
        public var clockOffsetMillis: Int64?
        public var copying: String?
        /// Rows imported by the copy in progress, and the rows the peer had in the tables it
        /// still had to copy when it began (nil when the peer did not say: an older version).
        public var copyRows: Int?
        public var copyTotalRows: Int?
        public var syncReason: String?
        public var clockSkew: String?
        public var clockSkewPauses = 0
        public var oversizedRows: [String] = []
        public var peerNewest: UInt64?
        public var lagMillis: Int64?
        public var lastCommitConfirmed: UInt64?
        public var lastReceivedLocalTime: UInt64?
        public var lastReceivedRemoteTime: UInt64?
        /// The peer's clock (HLC raw) up to which every write of its own is applied here: the
        /// `clock` of the last batch that reached the end of its log. Copies never raise it;
        /// a resync clears it (the peer's new log may hold older versions).
        public var watermark: UInt64?
        /// The peer's record count per table of the database (its `record_counts` frames),
        /// and when they arrived; kept after a disconnect as the last known.
        public var peerRecordCounts: [String: Int]?
        public var peerRecordCountsAt: UInt64?
    }

    enum Phase: Sendable {
        case idle
        /// Hello sent, cursor asked for; waiting for both.
        case greeting(cursor: ReplicationCursor?, peerLog: String??)
        /// Deciding on a first sync: the turn, then whether this node ever synced.
        case deciding(cursor: ReplicationCursor, peerLog: String?)
        case streaming
        /// An apply in the store; its ack goes out when it is answered.
        case applying(through: UInt64, newestWrite: UInt64?, received: UInt64, clock: UInt64?)
        case copying(Copy)
    }

    struct Copy: Sendable {
        var reason: String
        var holdsTurn: Bool
        var step: CopyStep
    }

    enum CopyStep: Sendable {
        case awaitingTables
        /// Creating databases and tables before paging: answers still due.
        case preparing(tables: [JSON], pending: Int)
        case awaitingRows(table: String, remaining: [String])
        /// A page in the store; the next one may already be asked for.
        case importing(table: String, last: JSON?, rows: Int, pageRows: Int, remaining: [String])
        case finishing(resumeFrom: UInt64)
    }

    public let config: Config
    public private(set) var status = Status()
    private var phase: Phase = .idle
    private var session: SubscriberSession
    private var peerLog: String?
    private var helloSentMillis: UInt64 = 0
    /// An interrupted full copy from this peer, continued by the next connection.
    public private(set) var progress: CopyProgress?
    private var copiedRows = 0
    /// The frontier last sent on this connection, and when.
    private var frontierSent: (version: UInt64, at: UInt64)?
    static let frontierRefreshMillis: UInt64 = 5000

    public init(config: Config) {
        self.config = config
        session = Self.session(config)
    }

    static func session(_ config: Config) -> SubscriberSession {
        SubscriberSession(cursor: 0, origins: [config.peer], startTime: config.startTime,
                          resubscribeAfterMillis: config.resubscribeAfterMillis, maxClockSkewMillis: config.maxClockSkewMillis)
    }

    /// Where the machine stands, for diagnostics.
    public var phaseDescription: String { "\(phase)" }

    /// Whether the connection got past `hello` (the caller resets its backoff then).
    public var greeted: Bool {
        switch phase {
        case .idle, .greeting: return false
        default: return true
        }
    }

    /// The connection is gone: connection state goes, copy progress stays. (A first-sync
    /// turn still held is the caller's to release.)
    public mutating func disconnected() {
        phase = .idle
        status.connected = false
        status.copying = nil
        status.copyRows = nil
        status.copyTotalRows = nil
    }

    public mutating func step(_ input: Input) -> Ready {
        var ready = Ready()
        switch input {
        case .connected(let serial, let now):
            if let serial, config.revokedSerials.contains(serial) {
                ready.close = ("the peer's certificate serial \(serial) is revoked (tls.revokedSerials)", true)
                return ready
            }
            helloSentMillis = now
            // A new connection starts a new session (the cursor comes from the store): a
            // copy asked for or a pause on the old one does not carry over.
            session = Self.session(config)
            frontierSent = nil
            phase = .greeting(cursor: nil, peerLog: nil)
            ready.frames.append(.hello(node: config.node, time: now, recordCounts: true))
            ready.store.append(.readCursor)
        case .frame(let frame, let now):
            receive(frame, now: now, &ready)
        case .stored(let result, let now):
            stored(result, now: now, &ready)
        case .tick(let now, let frontier):
            tick(now: now, frontier: frontier, &ready)
        }
        return ready
    }

    // MARK: Frames

    private mutating func receive(_ frame: ReplicationFrame, now: UInt64, _ ready: inout Ready) {
        if case .message(.recordCounts(let tables)) = frame, status.connected {
            // After the peer's hello, whatever the link is doing (deciding, copying,
            // streaming): only shown.
            status.peerRecordCounts = tables
            status.peerRecordCountsAt = now
            return
        }
        switch (frame, phase) {
        case (.hello(let name, let time, let log, _), .greeting(let cursor, nil)):
            guard name == config.peer else {
                ready.close = ("peer states node name \"\(name)\", the route expects \"\(config.peer)\"", true)
                return
            }
            status.latencyMillis = Double((now - min(now, helloSentMillis)) * 100) / 100
            // The peer's clock minus ours, assuming its hello was sent half-way through the round trip.
            status.clockOffsetMillis = time.map { Int64(bitPattern: $0) - Int64(bitPattern: (helloSentMillis + now) / 2) }
            status.connected = true
            peerLog = log
            session.heard(now: now)
            if let cursor { decide(cursor, now: now, &ready) } else { phase = .greeting(cursor: nil, peerLog: .some(log)) }
        case (.hello, _):
            ready.close = (greeted ? "hello sent twice" : "the peer did not say hello first", false)
        case (.message(let message), .copying(let copy)):
            copyFrame(message, copy, now: now, &ready)
        case (.message(let message), .streaming):
            stream(message, now: now, &ready)
        case (.message, .applying):
            // The link runs store commands before reading on: nothing arrives mid-apply.
            ready.close = ("a frame arrived while an apply was pending", false)
        case (.message, _):
            ready.close = ("the peer sent a message before hello", false)
        }
    }

    private mutating func decide(_ cursor: ReplicationCursor, now: UInt64, _ ready: inout Ready) {
        session.restore(cursor: cursor.sequence)
        status.cursor = cursor.sequence
        if SubscriberSession.asksWhetherSynced(cursor: cursor, peerLog: peerLog, startTime: config.startTime) {
            phase = .deciding(cursor: cursor, peerLog: peerLog)
            ready.store += [.takeFirstSyncTurn, .syncedFromAnyone]
            return
        }
        start(SubscriberSession.start(cursor: cursor, peerLog: peerLog, startTime: config.startTime, syncedFromAnyone: true),
              holdsTurn: false, now: now, &ready)
    }

    private mutating func start(_ start: SubscriberSession.Start, holdsTurn: Bool, now: UInt64, _ ready: inout Ready) {
        switch start {
        case .subscribe:
            if holdsTurn { ready.store.append(.releaseFirstSyncTurn) }
            log(&ready, .info, "subscribed", ["from": "\(session.cursor + 1)", "log": peerLog ?? "-"])
            phase = .streaming
            ready.frames.append(.message(session.subscribe))
        case .firstSync:
            log(&ready, .info, "first sync of this database: full copy from this peer")
            beginCopy(reason: "first sync of this database", holdsTurn: holdsTurn, &ready)
        case .resync(let reason):
            if holdsTurn { ready.store.append(.releaseFirstSyncTurn) }
            log(&ready, .warning, "resynchronising with a full copy", ["reason": reason])
            beginCopy(reason: reason, holdsTurn: false, &ready)
        }
    }

    private mutating func stream(_ message: ReplicationMessage, now: UInt64, _ ready: inout Ready) {
        session.heard(now: now)
        var batchEnd: (through: UInt64, clock: UInt64?)?
        if case .batch(_, let through, _, let newest, let clock) = message {
            if let newest { status.peerNewest = newest }
            batchEnd = (through, clock)
        }
        let wasPaused = session.paused != nil
        let action = session.receive(message, now: now)
        if !wasPaused, let pause = session.paused {
            // Neither applied nor adopted by our clock: the link waits until local time is
            // within replication.maxClockSkew of the entry, then streams on by itself.
            status.clockSkew = "peer entry \(pause.sequence) is \(pause.aheadMillis) ms ahead of this node's clock (replication.maxClockSkew \(config.maxClockSkewMillis) ms): paused until local time catches up"
            status.clockSkewPauses += 1
            log(&ready, .error, "peer clock too far ahead: replication paused", [
                "sequence": "\(pause.sequence)", "ahead_ms": "\(pause.aheadMillis)", "max_clock_skew_ms": "\(config.maxClockSkewMillis)",
            ])
        }
        switch action {
        case .apply(let entries, let through):
            // The batch's clock holds only when all of it is applied (not cut at a pause).
            let clock = batchEnd?.through == through ? batchEnd?.clock : nil
            let newestWrite = entries.map(\.version.millis).max()
            status.lastReceivedLocalTime = now
            if let newestWrite { status.lastReceivedRemoteTime = newestWrite }
            // A batch with nothing for us only moves the cursor: made durable at most every
            // few seconds (or with the next entries), not with a commit per batch; after a
            // restart those ranges are simply skipped again.
            if entries.isEmpty && now < session.cursorSavedMillis + config.emptyCursorSaveMillis {
                acknowledge(through: through, newestWrite: nil, clock: clock, now: now, &ready)
                return
            }
            session.cursorSavedMillis = now
            phase = .applying(through: through, newestWrite: newestWrite, received: now, clock: clock)
            ready.store.append(.apply(entries: entries, through: through, log: peerLog, restart: false))
        case .send(let reply):
            // A batch already applied still says something true about the peer's clock.
            if let end = batchEnd, let clock = end.clock, end.through <= session.cursor {
                status.watermark = max(status.watermark ?? 0, clock)
            }
            ready.frames.append(.message(reply))
        case .fullCopy(let oldest, let reason):
            let why = reason ?? "the peer pruned its log past our cursor"
            log(&ready, .warning, "full copy needed", ["reason": why, "oldest_retained": "\(oldest)", "cursor": "\(session.cursor)"])
            beginCopy(reason: why, holdsTurn: false, &ready)
        case .reject(let problem):
            ready.close = ("the peer broke the protocol: \(problem)", false)
        case .none:
            break
        }
    }

    private mutating func acknowledge(through: UInt64, newestWrite: UInt64?, clock: UInt64?, now: UInt64, _ ready: inout Ready) {
        ready.frames.append(.message(session.applied(through: through)))
        if let clock { status.watermark = max(status.watermark ?? 0, clock) }
        status.cursor = session.cursor
        status.lastCommitConfirmed = now
        // From the write on the peer to applied here (peer clock: see clock_offset_ms).
        if let newestWrite { status.lagMillis = Int64(bitPattern: now) - Int64(bitPattern: newestWrite) }
    }

    // MARK: Store answers

    private mutating func stored(_ result: StoreResult, now: UInt64, _ ready: inout Ready) {
        switch (result, phase) {
        case (.cursor(let cursor), .greeting(nil, let log)):
            if let log {
                peerLog = log
                decide(cursor, now: now, &ready)
            } else {
                phase = .greeting(cursor: cursor, peerLog: nil)
            }
        case (.synced(let synced), .deciding(let cursor, let log)):
            start(SubscriberSession.start(cursor: cursor, peerLog: log, startTime: config.startTime, syncedFromAnyone: synced),
                  holdsTurn: true, now: now, &ready)
        case (.applied(let cursor), .applying(let through, let newestWrite, _, let clock)):
            phase = .streaming
            acknowledge(through: max(through, cursor), newestWrite: newestWrite, clock: clock, now: now, &ready)
        case (_, .copying(var copy)):
            copyStored(result, &copy, now: now, &ready)
        default:
            break  // turn taken, turn released
        }
    }

    // MARK: Full copy

    private mutating func beginCopy(reason: String, holdsTurn: Bool, _ ready: inout Ready) {
        status.syncReason = reason
        // What the old stream said about the peer's writes may not hold for its log now.
        status.watermark = nil
        phase = .copying(Copy(reason: reason, holdsTurn: holdsTurn, step: .awaitingTables))
        ready.frames.append(.message(session.copyBegin))
    }

    private mutating func copyFrame(_ message: ReplicationMessage, _ copy: Copy, now: UInt64, _ ready: inout Ready) {
        var copy = copy
        switch (message, copy.step) {
        case (.copyTables(let offered, let tables, let databases), .awaitingTables):
            if progress == nil || progress!.log != peerLog {
                progress = CopyProgress(resumeFrom: offered, log: peerLog)
            } else {
                progress!.restarted(resumeFrom: offered)
            }
            let p = progress!
            let resumed = !p.finished.isEmpty || p.table != nil
            log(&ready, .info, resumed ? "full copy resumed" : "full copy started", [
                "tables": "\(tables.count)", "resume_from": "\(p.resumeFrom)", "tables_done": "\(p.finished.count)",
                "table": p.table ?? "-", "rows": "\(p.rows)", "reason": copy.reason,
            ])
            copiedRows = 0
            let left = tables.filter { !p.isFinished($0["name"]?.stringValue ?? "") }
            let counts = left.compactMap { $0["record_count"]?.intValue }
            status.copyTotalRows = counts.count == left.count ? counts.reduce(0, +) : nil
            status.copyRows = p.rows
            let createsDatabases = config.createsDatabases && databases != nil
            copy.step = .preparing(tables: tables, pending: createsDatabases ? 2 : 1)
            phase = .copying(copy)
            if createsDatabases, let databases { ready.store.append(.createDatabases(databases)) }
            ready.store.append(.createTables(tables))
        case (.copyRows(let table, let rows, let last, let oversized), .awaitingRows(let expected, let remaining)) where table == expected:
            if !oversized.isEmpty {
                let ids = oversized.map { "\($0["id"]?.text ?? "?") (\($0["oversized"]?.text ?? "?") bytes)" }
                log(&ready, .error, "the peer could not send rows bigger than a replication message", ["table": table, "rows": ids.joined(separator: ", ")])
                status.oversizedRows += ids.map { "\(table):\($0)" }
            }
            // A copied row written too far ahead is neither imported nor observed by the
            // clock: the copy stops (its progress kept) and the next connection retries it.
            let newest = rows.compactMap { $0["version"]?.stringValue.flatMap(UInt64.init).map { HLCTimestamp(rawValue: $0).millis } }.max() ?? 0
            if let ahead = HybridLogicalClock.skew(of: newest, now: now, limit: config.maxClockSkewMillis) {
                let reason = "a copied row is \(ahead) ms ahead of this node's clock (replication.maxClockSkew \(config.maxClockSkewMillis) ms): the copy waits until local time catches up"
                if status.clockSkew == nil { status.clockSkewPauses += 1 }
                status.clockSkew = reason
                ready.close = (reason, false)
                return
            }
            status.clockSkew = nil
            // Two pages in flight: the next is asked for before this one is imported, so the
            // peer reads while we write (memory stays bounded at two pages).
            if let last { ready.frames.append(.message(.copyPage(table: table, after: last))) }
            let before = progress?.start(of: table).rows ?? 0
            copy.step = .importing(table: table, last: last, rows: before + rows.count, pageRows: rows.count, remaining: remaining)
            phase = .copying(copy)
            ready.store.append(.importRows(table: table, rows: rows))
        case (.batch, _), (.pruned, _):
            break  // stream frames still on the way: the copy decides where streaming resumes
        default:
            ready.close = ("unexpected \(ReplicationFrame.message(message).json["type"]?.stringValue ?? "frame") during a full copy", false)
        }
    }

    private mutating func copyStored(_ result: StoreResult, _ copy: inout Copy, now: UInt64, _ ready: inout Ready) {
        switch copy.step {
        case .preparing(let tables, let pending):
            guard pending <= 1 else {
                copy.step = .preparing(tables: tables, pending: pending - 1)
                phase = .copying(copy)
                return
            }
            let names = tables.compactMap { $0["name"]?.stringValue }.filter { !(progress?.isFinished($0) ?? false) }
            copy.step = .awaitingRows(table: "", remaining: names)
            nextTable(&copy, now: now, &ready)
        case .importing(let table, let last, let rows, let pageRows, let remaining):
            progress?.imported(table, through: last, rows: rows)
            status.copying = "Copying \(table): \(rows) rows"
            status.copyRows = copiedRows + rows
            // Progress in the log every `copyLogEvery` rows and at each table's end.
            if last == nil || rows / config.copyLogEvery != (rows - pageRows) / config.copyLogEvery {
                log(&ready, .info, "copying", ["table": table, "rows": "\(rows)"])
            }
            if last == nil {
                progress?.finish(table)
                copiedRows += rows
                copy.step = .awaitingRows(table: "", remaining: remaining)
                nextTable(&copy, now: now, &ready)
            } else {
                copy.step = .awaitingRows(table: table, remaining: remaining)
                phase = .copying(copy)
            }
        case .finishing(let resumeFrom):
            guard case .applied = result else { return }
            let through = resumeFrom > 0 ? resumeFrom - 1 : 0
            session.copied(resumeFrom: through + 1)
            session.heard(now: now)
            progress = nil
            status.copying = nil
            status.copyRows = nil
            status.copyTotalRows = nil
            status.cursor = through
            status.lastCommitConfirmed = now
            log(&ready, .info, "full copy finished", ["rows": "\(copiedRows)", "from": "\(through + 1)"])
            if copy.holdsTurn { ready.store.append(.releaseFirstSyncTurn) }
            phase = .streaming
            ready.frames.append(.message(session.subscribe))
        case .awaitingTables, .awaitingRows:
            break
        }
    }

    /// Asks for the first page of the next table, or ends the copy: the cursor moves to the
    /// copy's position in the peer's log (durably, even when that is behind the old cursor:
    /// the peer's log restarted or went back), then the stream.
    private mutating func nextTable(_ copy: inout Copy, now: UInt64, _ ready: inout Ready) {
        guard case .awaitingRows(_, var remaining) = copy.step else { return }
        if !remaining.isEmpty {
            let table = remaining.removeFirst()
            copy.step = .awaitingRows(table: table, remaining: remaining)
            phase = .copying(copy)
            ready.frames.append(.message(.copyPage(table: table, after: progress?.start(of: table).after)))
            return
        }
        let resumeFrom = progress?.resumeFrom ?? 1
        copy.step = .finishing(resumeFrom: resumeFrom)
        phase = .copying(copy)
        ready.store.append(.apply(entries: [], through: resumeFrom > 0 ? resumeFrom - 1 : 0, log: peerLog, restart: true))
    }

    // MARK: Time

    private mutating func tick(now: UInt64, frontier: UInt64?, _ ready: inout Ready) {
        guard case .streaming = phase else { return }
        if let frontier, frontierSent.map({ frontier > $0.version || now >= $0.at + Self.frontierRefreshMillis }) ?? true {
            frontierSent = (frontier, now)
            ready.frames.append(.message(.frontier(frontier)))
        }
        let wasPaused = session.paused != nil
        let again = session.tick(now: now)
        if wasPaused && session.paused == nil {
            status.clockSkew = nil
            log(&ready, .info, "local time caught up with the peer's clock: streaming again")
        }
        if let again { ready.frames.append(.message(again)) }
    }

    private func log(_ ready: inout Ready, _ level: LogEvent.Level, _ message: String, _ metadata: [String: String] = [:]) {
        ready.logs.append(LogEvent(level: level, message: message, metadata: metadata))
    }
}
