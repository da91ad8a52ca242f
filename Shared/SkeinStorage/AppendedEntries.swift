import Foundation

/// The audit entries one write transaction appended, as stored: what the store's commit
/// feed publishes once the transaction is durable (`CommitFeed`), so a caught-up publisher
/// sends them on without reading the log back through auditd.
///
/// The store's writer opens it with a group transaction (`DatabaseEnvironment.tapAppends`),
/// rewinds it when a write's child transaction aborts, and takes it just before the commit:
/// an entry is in it only when its transaction committed. Outside a group nothing is kept
/// (other writers, auditd): a reader of the feed sees the gap and reads the log instead.
public struct AppendedEntries: Sendable {
    /// The sequence of the first entry kept.
    public private(set) var first: UInt64 = 0
    public private(set) var entries: [[UInt8]] = []

    public init() {}

    public var count: Int { entries.count }
    /// The sequence of the last entry kept.
    public var last: UInt64? { entries.isEmpty ? nil : first + UInt64(entries.count - 1) }

    mutating func append(_ sequence: UInt64, _ bytes: [UInt8]) {
        if entries.isEmpty {
            first = sequence
        } else if sequence != first + UInt64(entries.count) {
            // Not the next one (cannot happen under one writer): keep only a gap-free run.
            first = sequence
            entries.removeAll(keepingCapacity: true)
        }
        entries.append(bytes)
    }

    /// Drops what was appended after `count` entries (a child transaction aborted).
    public mutating func rewind(to count: Int) {
        if count < entries.count { entries.removeSubrange(count...) }
    }
}

/// Where `DatabaseEnvironment.appendAudit` records what it appends while the writer taps it.
final class AppendTap: @unchecked Sendable {
    private let lock = NSLock()
    private var open: AppendedEntries?

    func start() { lock.withLock { open = AppendedEntries() } }
    func take() -> AppendedEntries? { lock.withLock { defer { open = nil }; return open } }
    func mark() -> Int { lock.withLock { open?.count ?? 0 } }
    func rewind(to count: Int) { lock.withLock { open?.rewind(to: count) } }
    func record(_ sequence: UInt64, _ bytes: [UInt8]) { lock.withLock { open?.append(sequence, bytes) } }
}
