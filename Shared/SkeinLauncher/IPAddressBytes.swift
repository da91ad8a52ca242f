#if canImport(Glibc)
import Glibc
#endif

/// An IP address as the 4 or 16 bytes an IP subject alternative name holds.
enum IPAddressBytes {
    static func parse(_ text: String) throws -> [UInt8] {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        throw LauncherError("\"\(text)\" is not an IP address")
    }
}
