import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether a TCP port can be listened on. By default asked the way the services bind
/// theirs (`SO_REUSEADDR`: a port only in TIME_WAIT after a restart counts as free; one
/// another process listens on does not).
public enum PortProbe {
    /// True when `host:port` (an IPv4 or IPv6 literal, or an unspecified address) can be bound now.
    public static func canBind(host: String, port: Int, reuseAddress: Bool = true) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if inet_pton(AF_INET, literal, &v4) == 1 {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            addr.sin_addr = v4
            return bind(family: AF_INET, &addr, reuseAddress: reuseAddress)
        }
        if inet_pton(AF_INET6, literal, &v6) == 1 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            addr.sin6_addr = v6
            return bind(family: AF_INET6, &addr, reuseAddress: reuseAddress)
        }
        // A host name: the service resolves it; not probed here.
        return true
    }

    private static func bind<Address>(family: Int32, _ address: inout Address, reuseAddress: Bool) -> Bool {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if reuseAddress {
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let length = socklen_t(MemoryLayout<Address>.size)
        return withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) == 0 }
        }
    }
}
