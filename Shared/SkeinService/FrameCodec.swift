/// Multipart messages on a byte stream (the `ipc://` RPC transport, docs/INTERFACES.md §5):
/// `[u32 LE: bytes that follow][u32 LE: frame count]` then per frame `[u32 LE: length][bytes]`.
enum FrameCodec {
    /// A message larger than this closes the connection: a corrupt length, not a request.
    static let maxMessageBytes = 1 << 30

    static func encode(_ frames: [[UInt8]]) -> [UInt8] {
        let size = 4 + frames.reduce(0) { $0 + 4 + $1.count }
        var out: [UInt8] = []
        out.reserveCapacity(4 + size)
        append(UInt32(size), to: &out)
        append(UInt32(frames.count), to: &out)
        for frame in frames {
            append(UInt32(frame.count), to: &out)
            out.append(contentsOf: frame)
        }
        return out
    }

    private static func append(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 24))
    }

    struct Malformed: Error {}

    /// Collects bytes as they are read and hands out whole messages.
    struct Reader {
        private var buffer: [UInt8] = []
        private var start = 0

        mutating func append(_ bytes: UnsafeRawBufferPointer) {
            if start > 0, start >= buffer.count / 2 {
                buffer.removeFirst(start)
                start = 0
            }
            buffer.append(contentsOf: bytes)
        }

        /// The next whole message, nil when it has not all arrived yet.
        mutating func next() throws(Malformed) -> [[UInt8]]? {
            guard buffer.count - start >= 4 else { return nil }
            let size = Int(word(at: start))
            guard size >= 4, size <= FrameCodec.maxMessageBytes else { throw Malformed() }
            guard buffer.count - start >= 4 + size else { return nil }
            let end = start + 4 + size
            var at = start + 4
            let count = Int(word(at: at))
            at += 4
            var frames: [[UInt8]] = []
            frames.reserveCapacity(count)
            for _ in 0..<count {
                guard at + 4 <= end else { throw Malformed() }
                let length = Int(word(at: at))
                at += 4
                guard at + length <= end else { throw Malformed() }
                frames.append(Array(buffer[at..<(at + length)]))
                at += length
            }
            guard at == end else { throw Malformed() }
            start = end
            if start == buffer.count {
                buffer.removeAll(keepingCapacity: buffer.count <= 1 << 20)
                start = 0
            }
            return frames
        }

        private func word(at i: Int) -> UInt32 {
            UInt32(buffer[i]) | UInt32(buffer[i + 1]) << 8 | UInt32(buffer[i + 2]) << 16 | UInt32(buffer[i + 3]) << 24
        }
    }
}
