import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket listening on an IPv4 `host:port` until `close`: a port another process
/// holds, for tests of what a service or the launcher does about it.
final class ListeningSocket {
    private var fd: Int32

    init(host: String, port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NodeError("socket: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(host)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound, listen(fd, 8) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw NodeError("cannot listen on \(host):\(port): errno \(e)")
        }
    }

    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}
