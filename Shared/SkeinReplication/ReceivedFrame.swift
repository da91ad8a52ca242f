import SkeinCore

/// A frame as a subscriber received it, with the bulk of a batch or a copy page kept as the
/// bytes that came (decoded to headers only: see `FrameIO` in the replicator).
public struct ReceivedFrame: Sendable {
    public var frame: ReplicationFrame
    /// A batch's entries as received (to pass them to the store unparsed).
    public var entries: ReplicationFrame.RawEntries?
    /// A copy page's rows as received.
    public var rows: ReplicationFrame.RawRows?

    public init(frame: ReplicationFrame, entries: ReplicationFrame.RawEntries? = nil, rows: ReplicationFrame.RawRows? = nil) {
        self.frame = frame
        self.entries = entries
        self.rows = rows
    }

    /// Frames that queued up while the store applied a batch, with each run of consecutive
    /// batches (each starting where the one before it ended) joined into one batch of at
    /// most `maxBytes` of entries: one apply, one commit and one ack instead of one each.
    /// Why: the publisher keeps several batches in flight, and applying them one by one made
    /// an entry wait behind every apply queued before it (the lag tail on a busy node).
    /// The joined batch says what its parts say together: entries in order, `through` and
    /// `clock` of the last part (a clock holds for everything before it), the newest `newest`.
    public static func coalesce(_ frames: [ReceivedFrame], maxBytes: Int) -> [ReceivedFrame] {
        var out: [ReceivedFrame] = []
        for next in frames {
            if let last = out.last, let joined = last.joined(with: next, maxBytes: maxBytes) {
                out[out.count - 1] = joined
            } else {
                out.append(next)
            }
        }
        return out
    }

    /// This batch followed by `next`, when both are batches, `next` starts right after this
    /// one and the entries together fit `maxBytes`.
    func joined(with next: ReceivedFrame, maxBytes: Int) -> ReceivedFrame? {
        guard case .message(.batch(let from, let through, let entries, let newest, let clock)) = frame,
              case .message(.batch(let nextFrom, let nextThrough, let nextEntries, let nextNewest, let nextClock)) = next.frame,
              nextFrom == through + 1, nextThrough >= through,
              // Entries kept as bytes join entries kept as bytes; entries decoded whole (no
              // bytes kept) join entries decoded whole.
              entries.isEmpty || nextEntries.isEmpty || (self.entries == nil) == (next.entries == nil),
              (self.entries?.bytes.count ?? 0) + (next.entries?.bytes.count ?? 0) <= maxBytes else { return nil }
        let raw: ReplicationFrame.RawEntries?
        switch (self.entries, next.entries) {
        case (let a?, let b?): raw = a.joined(with: b)
        case (let a, let b): raw = a ?? b
        }
        let joinedNewest = [newest, nextNewest].compactMap { $0 }.max()
        return ReceivedFrame(frame: .message(.batch(from: from, through: nextThrough, entries: entries + nextEntries,
                                                    newest: joinedNewest, clock: nextClock ?? clock)),
                             entries: raw)
    }
}

extension ReplicationFrame.RawEntries {
    /// These entries followed by `next`'s, as one JSON array.
    func joined(with next: Self) -> Self {
        var bytes = Array(bytes)
        while let b = bytes.last, b != UInt8(ascii: "]") { bytes.removeLast() }  // trailing space
        bytes.removeLast()
        let rest = next.bytes.drop { $0 != UInt8(ascii: "[") }.dropFirst()
        if !sequences.isEmpty && !next.sequences.isEmpty { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: rest)
        return Self(sequences: sequences + next.sequences, bytes: bytes[...])
    }
}
