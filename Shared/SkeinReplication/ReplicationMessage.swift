import SkeinCore

/// What flows on one replication connection (one peer, one database). The subscriber
/// dials; the publisher streams its audit log. Sequences are the publisher's.
public enum ReplicationMessage: Sendable, Equatable {
    /// Subscriber → publisher: "send entries of these origins from sequence `from`". Sent on
    /// connect and again to restart the stream after a gap; always safe to repeat. With
    /// `startTime` (ms since the epoch, a route's `startTime`), entries written before it are
    /// skipped (still covered by `through`).
    case subscribe(from: UInt64, origins: [String], startTime: UInt64? = nil)
    /// Publisher → subscriber: the entries of sequences `from...through` whose origin was
    /// asked for (others are skipped but still covered by `through`). `newest` is the
    /// publisher's last sequence when it sent the batch (how far behind the subscriber is).
    /// `clock` (an HLC raw value), only on a batch that reaches the end of the log as read:
    /// every write of the publisher's own with a version up to it is at or before `through`
    /// (its clock's high-water mark, read with the log), the subscriber's watermark of it.
    case batch(from: UInt64, through: UInt64, entries: [AuditEntry], newest: UInt64? = nil, clock: UInt64? = nil)
    /// Subscriber → publisher: everything through `through` is applied durably.
    case ack(through: UInt64)
    /// Subscriber → publisher: this node's frontier of the database (an HLC raw value):
    /// every write of every node with a version up to it is applied here. The publisher
    /// forgets a tombstone once every peer's frontier and its own passed it.
    case frontier(UInt64)
    /// Publisher → subscriber: `from` is older than the oldest retained entry (or past the
    /// end of the log: `reason` says so); the subscriber needs a full copy before streaming.
    case pruned(oldest: UInt64, reason: String? = nil)
    /// Subscriber → publisher: start a full copy (a new node's first sync, or after `pruned`).
    /// With `startTime`, rows last written before it are left out.
    case copyBegin(startTime: UInt64? = nil)
    /// Publisher → subscriber: the tables to copy (TableSchema JSON: database, name,
    /// primary_key, attributes) and the sequence to stream from afterwards: the publisher's
    /// last sequence + 1, read before the tables were listed.
    /// For the `system` database, `databases` lists the publisher's databases, so a new
    /// node replicating every database creates them (their creation is not in the copy).
    case copyTables(resumeFrom: UInt64, tables: [JSON], databases: [String]? = nil)
    /// Subscriber → publisher: the next page of `table` after key `after` (nil: from the start).
    case copyPage(table: String, after: JSON?)
    /// Publisher → subscriber: one page of exported rows (store `replication_export` shape);
    /// `last` is the next page's `after`, nil at the end of the table. `oversized`: rows
    /// too big for any message (`{"id", "oversized": bytes}`), left out and named.
    case copyRows(table: String, rows: [JSON], last: JSON?, oversized: [JSON] = [])
    /// Publisher → subscriber: the publisher's record count of each table of the database,
    /// refreshed every few seconds, so the subscriber's `cluster_status` shows its peers'
    /// counts. Sent only to a subscriber whose `hello` said it reads them (older ones
    /// would close on an unknown frame).
    case recordCounts([String: Int])
}
