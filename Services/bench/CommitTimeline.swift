import Foundation
import SkeinCore
import SkeinService

/// When a node's commits became durable, as the benchmark sees them: the store publishes a
/// notice `{database, seq}` after each durable commit (docs/INTERFACES.md §5); this records
/// (last sequence, monotonic receive time) for each notice of database `data`.
final class CommitTimeline: @unchecked Sendable {
    private let lock = NSLock()
    private var sequences: [UInt64] = []
    private var nanos: [UInt64] = []
    private var subscriber: NoticeSubscriber?

    init(node: BenchNode) throws {
        let subscriber = NoticeSubscriber(endpoint: node.endpoint("store-notices")) { [weak self] database, notice in
            let now = DispatchTime.now().uptimeNanoseconds
            guard database == "data", let seq = notice["seq"]?.intValue, let self else { return }
            self.lock.lock()
            self.sequences.append(UInt64(seq))
            self.nanos.append(now)
            self.lock.unlock()
        }
        try subscriber.start()
        self.subscriber = subscriber
    }

    /// When the commit that made `sequence` durable was announced (the first notice whose
    /// last sequence is at or past it), in monotonic nanoseconds; nil when none was seen.
    func committed(_ sequence: UInt64) -> UInt64? {
        lock.lock()
        defer { lock.unlock() }
        var low = 0, high = sequences.count
        while low < high {
            let mid = (low + high) / 2
            if sequences[mid] < sequence { low = mid + 1 } else { high = mid }
        }
        return low < sequences.count ? nanos[low] : nil
    }

    func stop() { subscriber?.stop() }
}
