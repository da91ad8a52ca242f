import SkeinCore
import Testing
@testable import SkeinReplication

/// Batches that queued up while the store applied one are joined into one apply, only
/// where that says exactly what the parts say.
@Suite("Joining queued batches")
struct BatchCoalescingTests {
    static func entry(_ sequence: UInt64) -> AuditEntry {
        AuditEntry(sequence: sequence, version: HLCTimestamp(millis: 100 + sequence, counter: 0), origin: "node-a", user: "u", operation: "insert",
                   table: "t", ids: [JSON(sequence)], records: [["id": JSON(sequence), "s": "a ] , ["]], previous: [], details: nil)
    }

    /// A batch as a subscriber receives it: entries decoded to their headers, their bytes kept.
    static func received(from: UInt64, through: UInt64, _ sequences: [UInt64], newest: UInt64? = nil, clock: UInt64? = nil) throws -> ReceivedFrame {
        let entries = sequences.map(entry)
        let text = Array(ReplicationFrame.message(.batch(from: from, through: through, entries: entries, newest: newest, clock: clock)).text.utf8)
        let light = try ReplicationFrame(json: JSON.parse(text, buildingDepth: 3))
        let range = try #require(JSON.topLevelValueRange(of: "entries", in: text))
        return ReceivedFrame(frame: light, entries: entries.isEmpty ? nil : .init(sequences: sequences, bytes: text[range]))
    }

    @Test func consecutiveBatchesBecomeOne() throws {
        let frames = [try Self.received(from: 1, through: 3, [1, 3], newest: 9, clock: 50),
                      try Self.received(from: 4, through: 4, [], newest: 9),
                      try Self.received(from: 5, through: 8, [5, 6, 8], newest: 12)]
        let joined = ReceivedFrame.coalesce(frames, maxBytes: 1 << 20)
        #expect(joined.count == 1)
        guard case .message(.batch(1, 8, let headers, 12, 50)) = joined[0].frame else { Issue.record("\(joined[0].frame)"); return }
        #expect(headers.map(\.sequence) == [1, 3, 5, 6, 8])
        let raw = try #require(joined[0].entries)
        #expect(raw.are(headers))
        // The joined bytes are the entries whole, in order: what the store is sent.
        #expect(try JSON.parse(raw.bytes) == JSON.array([1, 3, 5, 6, 8].map { Self.entry($0).json }))
        #expect(raw.whole([headers[2]]) == [Self.entry(5)])
    }

    @Test func theLastClockHolds() throws {
        let frames = [try Self.received(from: 1, through: 1, [1], clock: 50), try Self.received(from: 2, through: 2, [2], clock: 70)]
        guard case .message(.batch(1, 2, _, _, 70)) = ReceivedFrame.coalesce(frames, maxBytes: 1 << 20)[0].frame else {
            Issue.record("not joined with the last clock"); return
        }
    }

    @Test func gapsOtherFramesAndTheByteBoundKeepBatchesApart() throws {
        let a = try Self.received(from: 1, through: 2, [1, 2]), gap = try Self.received(from: 4, through: 5, [4, 5])
        #expect(ReceivedFrame.coalesce([a, gap], maxBytes: 1 << 20).count == 2)
        // A resend from an earlier position (go-back-N) is not joined either.
        #expect(ReceivedFrame.coalesce([a, try Self.received(from: 2, through: 3, [2, 3])], maxBytes: 1 << 20).count == 2)
        let counts = ReceivedFrame(frame: .message(.recordCounts(["t": 1])))
        let b = try Self.received(from: 3, through: 3, [3])
        let kept = ReceivedFrame.coalesce([a, counts, b], maxBytes: 1 << 20)
        #expect(kept.count == 3)
        let size = try #require(a.entries).bytes.count
        #expect(ReceivedFrame.coalesce([a, b], maxBytes: size).count == 2)
        #expect(ReceivedFrame.coalesce([a, b, try Self.received(from: 4, through: 4, [4])], maxBytes: 1 << 20).count == 1)
    }

    /// A batch whose entries were decoded whole (no bytes kept) joins only batches like it.
    @Test func entriesDecodedWholeAreNotMixedWithBytes() throws {
        func whole(_ s: UInt64) -> ReceivedFrame {
            ReceivedFrame(frame: .message(.batch(from: s, through: s, entries: [Self.entry(s)], newest: nil, clock: nil)))
        }
        #expect(ReceivedFrame.coalesce([whole(1), try Self.received(from: 2, through: 2, [2])], maxBytes: 1 << 20).count == 2)
        #expect(ReceivedFrame.coalesce([try Self.received(from: 1, through: 1, [1]), whole(2)], maxBytes: 1 << 20).count == 2)
        let joined = ReceivedFrame.coalesce([whole(1), try Self.received(from: 2, through: 2, []), whole(3)], maxBytes: 1 << 20)
        guard joined.count == 1, case .message(.batch(1, 3, let entries, _, _)) = joined[0].frame else { Issue.record("\(joined)"); return }
        #expect(entries == [Self.entry(1), Self.entry(3)] && joined[0].entries == nil)
    }
}
