import Foundation
import Logging
import SkeinCore

/// One process per service (and per region for replicators) on a node directory. A second
/// store started by mistake, or a restart racing an old process still draining, would take
/// over the service's socket and write the same LMDB files with a clock of its own, so two
/// writes could carry the same version and origin and nodes would diverge (security review
/// F18). The lock is the kernel's (`flock`): it goes with the process, `kill -9` included.
public enum InstanceLock {
    /// Holds `rootPath/NAME.lock` for the life of the process, or exits 2 naming the holder.
    public static func hold(_ name: String, config: NodeConfig, logger: Logger) {
        try? FileManager.default.createDirectory(atPath: config.rootPath, withIntermediateDirectories: true)
        let path = config.rootPath + "/" + name + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            logger.critical("cannot open the instance lock", metadata: ["path": .string(path), "error": .string(String(cString: strerror(errno)))])
            exit(2)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            logger.critical("another skein-\(name) already runs on this node directory: not starting",
                            metadata: ["lock": .string(path), "holder_pid": .string(holder)])
            exit(2)
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        // The descriptor stays open (and locked) until the process ends.
    }
}
