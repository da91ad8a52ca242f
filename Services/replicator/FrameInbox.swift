import SkeinReplication
import SkeinService

/// Frames read from a subscriber's connection while the link is busy with the store: the
/// reader keeps reading, the link takes everything that queued up at once (and joins
/// consecutive batches: `ReceivedFrame.coalesce`). Bounded by the protocol, not here: a
/// publisher keeps at most a window of batches (and two copy pages) unacknowledged.
final class FrameInbox: Sendable {
    private struct State {
        var frames: [ReceivedFrame] = []
        /// The connection ended: nil when the peer closed it, else why it failed.
        var end: Result<Void, any Error>?
    }

    private let state = Locked(State())
    private let news = Wakeup()

    func push(_ frame: ReceivedFrame) {
        state.withLock { $0.frames.append(frame) }
        news.fire()
    }

    /// The reader is done (the peer closed the connection, or reading failed).
    func finish(_ end: Result<Void, any Error>) {
        state.withLock { $0.end = end }
        news.fire()
    }

    /// Every frame queued so far (waiting for one when none is); nil once the connection
    /// ended and every frame was taken. Throws the reader's error after its last frames.
    func take() async throws -> [ReceivedFrame]? {
        while true {
            let (frames, end) = state.withLock { s in
                defer { s.frames.removeAll() }
                return (s.frames, s.end)
            }
            if !frames.isEmpty { return frames }
            switch end {
            case .success?: return nil
            case .failure(let error)?: throw error
            case nil: break
            }
            try Task.checkCancellation()
            await news.wait(upTo: .seconds(1))
        }
    }
}
