/// Lets a loop rest until another task has news for it, or a time has passed. A `fire`
/// while nobody waits is kept, so news that comes between the loop's last look and its
/// rest is not missed (the next `wait` returns at once).
///
/// Why: the replication publisher rests between ticks when its window of batches in flight
/// is full; a fixed 25 ms rest made every freed slot wait for it, adding up to 25 ms of lag
/// to each batch after the window filled. The frame loop now fires when an ack comes in.
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        /// Counts waits: a timeout ends only the wait it was armed for.
        var wait: UInt64 = 0
    }

    private let state = Locked(State())

    public init() {}

    /// Wakes the waiting task, or the next one to wait.
    public func fire() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    /// Returns when fired (or fired since the last wait), after `timeout`, or when the task
    /// is cancelled. The timeout is `DeadlineTimer`'s (no task or Dispatch timer per wait),
    /// and it ends this wait only: once news ended it, its timeout leaves nothing behind.
    public func wait(upTo timeout: Duration) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let armed = state.withLock { s -> UInt64? in
                    if s.pending {
                        s.pending = false
                        return nil
                    }
                    s.waiter = c
                    s.wait &+= 1
                    return s.wait
                }
                guard let armed else { return c.resume() }
                DeadlineTimer.shared.schedule(after: timeout) { [self] in timedOut(armed) }
            }
        } onCancel: {
            fire()
        }
    }

    private func timedOut(_ wait: UInt64) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.wait == wait, let w = s.waiter else { return nil }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }
}
