import Foundation

/// Where a node's `ipc://` sockets live: one home for how their files are made, whether
/// ZeroMQ or a plain Unix socket binds them.
public enum IPCPath {
    /// Before binding `path`: the run directory is private to the service user (only its own
    /// services connect), and a stale socket file from a killed process is removed. A shared
    /// directory (sticky bit, like /tmp) is left as it is: a socket put straight into /tmp
    /// must not make /tmp private.
    public static func prepareForBind(_ path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var st = stat()
        if stat(dir, &st) == 0, st.st_mode & S_ISVTX == 0 { chmod(dir, 0o700) }
        unlink(path)
    }
}
