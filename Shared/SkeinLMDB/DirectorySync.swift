import Foundation

/// fsync of a directory: makes its entries (a new environment's directory and files)
/// survive a power loss on file systems that do not order them before the data written
/// into them (XFS, btrfs; security review F27).
public enum DirectorySync {
    public static func sync(_ path: String) throws(LMDBError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw LMDBError(code: errno, operation: "open directory \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw LMDBError(code: errno, operation: "fsync directory \(path)") }
    }
}
