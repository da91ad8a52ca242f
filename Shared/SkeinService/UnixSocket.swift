import Foundation
import SkeinZMQ

/// Unix stream sockets for a node's own `ipc://` endpoints: non-blocking, close-on-exec.
enum UnixSocket {
    struct Failure: Error, CustomStringConvertible {
        let operation: String
        let code: Int32
        var description: String { "\(operation): \(String(cString: strerror(code)))" }
    }

    /// The socket path of an `ipc://` endpoint, nil for any other.
    static func path(of endpoint: String) -> String? {
        endpoint.hasPrefix("ipc://") ? String(endpoint.dropFirst(6)) : nil
    }

    /// A listening socket at `path` (its directory made private, a stale file replaced).
    static func listen(_ path: String) throws(Failure) -> Int32 {
        IPCPath.prepareForBind(path)
        let fd = try make()
        let rc = withAddress(path) { bind(fd, $0, $1) }
        if rc != 0 || Glibc.listen(fd, 128) != 0 {
            let code = errno
            close(fd)
            throw Failure(operation: "bind \(path)", code: code)
        }
        return fd
    }

    /// A connection to `path`, or nil when nothing listens there.
    static func connect(_ path: String) -> Int32? {
        guard let fd = try? make() else { return nil }
        // connect on a non-blocking Unix socket completes at once or fails (no EINPROGRESS
        // unless the listener's backlog is full, which is treated as not listening).
        if withAddress(path, { Glibc.connect(fd, $0, $1) }) != 0 {
            close(fd)
            return nil
        }
        return fd
    }

    /// A waiting connection on `listener`, nil when none.
    static func accept(_ listener: Int32) -> Int32? {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        tune(fd)
        return fd
    }

    private static func make() throws(Failure) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(operation: "socket", code: errno) }
        tune(fd)
        return fd
    }

    /// Larger kernel buffers (capped by net.core.wmem_max/rmem_max): a page of results or a
    /// batch of writes goes in one `send` more often, without the loop thread's help.
    private static func tune(_ fd: Int32) {
        var size: Int32 = 4 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            errno = ENAMETOOLONG
            return -1
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
