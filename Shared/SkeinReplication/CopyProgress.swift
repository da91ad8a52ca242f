import SkeinCore

/// Where a full copy from one peer stands, so that the next connection after a disconnect
/// continues it instead of starting over: the tables finished, the table in progress and the
/// key of its last imported page. Kept by the subscriber link in memory (a restart of the
/// replicator copies again; the import merges by last-write-wins, so that only costs time).
public struct CopyProgress: Sendable, Equatable {
    /// The stream position to continue from after the copy: the *first* attempt's (entries
    /// written while an interrupted copy was running are then streamed, not lost).
    public private(set) var resumeFrom: UInt64
    public private(set) var finished: Set<String> = []
    public private(set) var table: String?
    public private(set) var after: JSON?
    public private(set) var rows = 0
    /// The identity of the peer's log the copy was taken from: progress in another log
    /// (the peer's database was re-created meanwhile) is worthless.
    public let log: String?

    public init(resumeFrom: UInt64, log: String? = nil) {
        self.resumeFrom = resumeFrom
        self.log = log
    }

    /// A new attempt answered `copy_tables` with `resumeFrom`: keep the older position.
    public mutating func restarted(resumeFrom newer: UInt64) { resumeFrom = min(resumeFrom, newer) }

    public func isFinished(_ name: String) -> Bool { finished.contains(name) }

    /// Where to start `name`: after the last imported key, with the rows counted so far.
    public func start(of name: String) -> (after: JSON?, rows: Int) {
        table == name ? (after, rows) : (nil, 0)
    }

    /// A page of `name` up to key `last` is imported (durably, by the store).
    public mutating func imported(_ name: String, through last: JSON?, rows total: Int) {
        table = name
        after = last
        rows = total
    }

    /// Every page of `name` is imported.
    public mutating func finish(_ name: String) {
        finished.insert(name)
        table = nil
        after = nil
        rows = 0
    }
}
