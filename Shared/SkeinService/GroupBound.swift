/// How many queued writes one group transaction takes: at most `maxJobs`, and no more
/// request bytes than `maxBytes` (one job always, whatever its size), so a burst of large
/// writes cannot fill one transaction (`MDB_TXN_FULL`, `MDB_MAP_FULL`) and fail jobs
/// because of their neighbours, nor hold every reply of a huge group (security review F20).
public struct GroupBound: Sendable {
    public var maxJobs: Int
    public var maxBytes: Int

    public init(maxJobs: Int = 256, maxBytes: Int = 32 << 20) {
        self.maxJobs = maxJobs
        self.maxBytes = maxBytes
    }

    /// Removes and returns the next group from the front of `queue`, in order.
    public func take<Job>(from queue: inout [Job], bytes: (Job) -> Int) -> [Job] {
        var count = 0, total = 0
        for job in queue {
            let size = bytes(job)
            if count > 0 && (count >= maxJobs || total + size > maxBytes) { break }
            count += 1
            total += size
        }
        let group = Array(queue.prefix(count))
        queue.removeFirst(count)
        return group
    }
}
