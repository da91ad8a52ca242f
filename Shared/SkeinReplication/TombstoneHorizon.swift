import SkeinCore

/// When a delete's tombstone may be forgotten. A tombstone (version V) keeps an older write
/// of the same record, still on its way from some node, from bringing the record back; it
/// is safe to drop once no such write can arrive anywhere, ever:
/// - every node applied every write with a version up to V (its *frontier* reached V), so
///   nothing older is in flight to it, and it applied the delete itself (its clock passed
///   V, so its own next writes are newer);
/// - and V is older than twice `replication.maxClockSkew` by local time, so a node that
///   lost its disk (and its clock's high-water mark) writes with newer versions anyway.
///
/// A node's frontier of a database is the lowest of its *watermarks*, one per peer: the
/// `clock` of the last batch that reached the end of the peer's log (every write of the
/// peer's own up to it is applied here). Subscribers send their frontier to the peers they
/// read from (`frontier` frames); a node prunes below the lowest of its own frontier and
/// every peer's. A peer that is not connected, or has not said, holds pruning back. Plain
/// state, fed by the replicator's links and by the simulation.
public struct TombstoneHorizon: Sendable {
    struct Key: Hashable, Sendable {
        let peer: String
        let database: String
    }

    /// Our watermark of each peer's writes (subscriber side).
    private var watermarks: [Key: UInt64] = [:]
    /// Each peer's frontier as it told us (publisher side), while it is connected.
    private var frontiers: [Key: UInt64] = [:]

    public init() {}

    /// A subscriber link's watermark of `peer` (nil: unknown again, as after a resync).
    public mutating func watermark(peer: String, database: String, _ value: UInt64?) {
        watermarks[Key(peer: peer, database: database)] = value
    }

    /// A peer's frontier as its subscription reported it (nil: it disconnected).
    public mutating func reported(peer: String, database: String, _ value: UInt64?) {
        frontiers[Key(peer: peer, database: database)] = value
    }

    /// This node's frontier of `database`: every write of `peers` up to it is applied here
    /// (nil while any peer's watermark is unknown, or with no peers: a lone node does not
    /// know who may join with old writes).
    public func frontier(database: String, peers: Set<String>) -> UInt64? {
        guard !peers.isEmpty else { return nil }
        var low = UInt64.max
        for peer in peers {
            guard let w = watermarks[Key(peer: peer, database: database)] else { return nil }
            low = min(low, w)
        }
        return low
    }

    /// Tombstones of `database` with a version up to this may be dropped here: the lowest
    /// of our frontier, every peer's, and local time less `minAgeMillis` (nil: none may).
    public func horizon(database: String, peers: Set<String>, now: UInt64, minAgeMillis: UInt64) -> UInt64? {
        guard var low = frontier(database: database, peers: peers), now > minAgeMillis else { return nil }
        for peer in peers {
            guard let f = frontiers[Key(peer: peer, database: database)] else { return nil }
            low = min(low, f)
        }
        return min(low, HLCTimestamp(millis: now - minAgeMillis, counter: 0).rawValue)
    }
}
