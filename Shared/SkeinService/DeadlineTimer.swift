import Foundation

/// Runs actions at deadlines, all of a process's on one thread: for `Wakeup`'s timeouts.
///
/// Why not `Task.sleep` per wait: each one created a task and armed a Dispatch timer (a
/// write to Dispatch's manager thread), its cancellation was one more job, and the timer
/// still fired at its deadline, waking a pool thread, after news had long ended the wait.
/// A replicator waits several times per batch (its publishers' rests, its inbox), and those
/// timers were a third of its thread wake-ups under load (`perf record -e
/// sched:sched_wakeup`). Here arming a deadline wakes nobody unless it is the earliest one,
/// and an action whose wait already ended costs a check on this thread.
public final class DeadlineTimer: @unchecked Sendable {
    public static let shared = DeadlineTimer()

    private struct Entry {
        let at: UInt64
        let order: UInt64
        let action: @Sendable () -> Void
    }

    private let condition = NSCondition()
    /// A binary min-heap on (`at`, `order`).
    private var heap: [Entry] = []
    private var armed: UInt64 = 0
    private var started = false

    private init() {}

    /// Runs `action` on the timer's thread once `delay` has passed (uptime clock).
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) {
        let (seconds, attoseconds) = delay.components
        let nanos = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        let at = DispatchTime.now().uptimeNanoseconds &+ UInt64(nanos)
        condition.lock()
        if !started {
            started = true
            let thread = Thread { [self] in
                ThreadName.set("deadlines")
                run()
            }
            thread.name = "deadlines"
            thread.start()
        }
        armed &+= 1
        push(Entry(at: at, order: armed, action: action))
        // Only a new earliest deadline changes when the thread must wake.
        if heap[0].order == armed { condition.signal() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            var due: [Entry] = []
            while due.isEmpty {
                guard let first = heap.first else {
                    condition.wait()
                    continue
                }
                let now = DispatchTime.now().uptimeNanoseconds
                if first.at > now {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Double(first.at - now) / 1e9))
                    continue
                }
                while let head = heap.first, head.at <= now { due.append(pop()) }
            }
            condition.unlock()
            for entry in due { entry.action() }
        }
    }

    private static func earlier(_ a: Entry, _ b: Entry) -> Bool { a.at != b.at ? a.at < b.at : a.order < b.order }

    private func push(_ entry: Entry) {
        heap.append(entry)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.earlier(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private func pop() -> Entry {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, Self.earlier(heap[l], heap[m]) { m = l }
                if r < heap.count, Self.earlier(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
