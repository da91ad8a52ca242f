import Foundation
import NIOCore
import NIOPosix

/// The replicator's tasks and its sockets on one thread: NIO's singleton event loop group,
/// made of one loop (unless `NIO_SINGLETON_GROUP_LOOP_COUNT` says otherwise), serves as Swift
/// concurrency's global executor.
///
/// Why: every message crossed threads several times: an event loop read a frame and woke a
/// pool thread for the task that handles it, which woke an event loop to write the reply
/// or the ack, and Dispatch's pool woke its second thread whenever a job queued behind a
/// running one. At 10,000 records/s (half the 3-node max rate) the replicators switched
/// threads ~5,700 times a second; on one thread ~3,400, and their CPU per record fell 12%
/// (four paired runs; lag unchanged). A replicator needs a fraction of a core (~0.15 at the
/// max rate of a 3-node cluster), and NIO's keep-alive counts no silence while its loop is
/// busy (`KeepAliveHandler`), so one thread is enough. `Task.sleep` still fires on a
/// Dispatch thread and enqueues its task here.
enum OneThreadExecutor {
    /// Call first in `main`, before anything uses NIO or starts a task.
    static func install() {
        if ProcessInfo.processInfo.environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] == nil {
            NIOSingletons.groupLoopCountSuggestion = 1
        }
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
