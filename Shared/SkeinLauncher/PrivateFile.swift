import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files only their owner may read (keys, credentials, configs with passwords): written to
/// a temporary name created 0600, then renamed over the target, so the text is never
/// readable by others, not even briefly, and a reader never sees half a file.
enum PrivateFile {
    static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw LauncherError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
        guard rename(temporary, path) == 0 else { throw LauncherError("cannot rename \(temporary): \(String(cString: strerror(errno)))") }
    }
}
