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
        take(from: &queue, bytes: bytes, waits: { _ in false })
    }

    /// The next group of the jobs for which `waits` is false, in queue order; the waiting
    /// ones stay queued in their order (writes held back while their database's indexes
    /// catch up: `IndexBacklogGate`).
    public func take<Job>(from queue: inout [Job], bytes: (Job) -> Int, waits: (Job) -> Bool) -> [Job] {
        var group: [Job] = [], kept: [Job] = []
        var total = 0
        var full = false
        for job in queue {
            if full || waits(job) {
                kept.append(job)
                continue
            }
            let size = bytes(job)
            if !group.isEmpty && (group.count >= maxJobs || total + size > maxBytes) {
                full = true
                kept.append(job)
                continue
            }
            group.append(job)
            total += size
        }
        queue = kept
        return group
    }
}
