import Foundation

/// A self-pipe that lets other threads wake a thread blocked in `ZMQPoller.pollIn`.
public final class WakeupPipe: @unchecked Sendable {
    public let readEnd: Int32
    let writeEnd: Int32

    public init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe() failed")
        readEnd = fds[0]
        writeEnd = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        Foundation.close(readEnd)
        Foundation.close(writeEnd)
    }

    public func wake() {
        var b: UInt8 = 1
        _ = Foundation.write(writeEnd, &b, 1)
    }

    /// Empties the pipe after a wake-up.
    public func drain() {
        var buf = [UInt8](repeating: 0, count: 256)
        while Foundation.read(readEnd, &buf, buf.count) > 0 {}
    }
}
