import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Ports for nodes started by this process: free on 127.0.0.1 when picked, below the
/// kernel's ephemeral range (32768 and up) so no outgoing connection of a running node takes
/// one before its node binds it, and never handed out twice (a port closed after the check
/// can come back from the kernel for the next node's other listener).
public enum UnusedPorts {
    private final class Given: @unchecked Sendable {
        private let lock = NSLock()
        private var ports: Set<Int> = []
        func take(_ port: Int) -> Bool { lock.withLock { ports.insert(port).inserted } }
    }
    private static let given = Given()

    public static func pick() -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_000)
            guard given.take(candidate) else { continue }
            if canBind(candidate) { return candidate }
        }
        return Int.random(in: 20_000..<32_000)
    }

    /// Without `SO_REUSEADDR`: a port in TIME_WAIT is not handed out either.
    private static func canBind(_ port: Int) -> Bool {
        PortProbe.canBind(host: "127.0.0.1", port: port, reuseAddress: false)
    }
}
