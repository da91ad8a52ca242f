import Foundation
import SkeinLMDB

/// Whether the index environment may hold a commit that was never synced, and since which
/// boot: the file `indexes/sync-state` ("open BOOT_ID" or "synced").
///
/// Why: the index environment commits without a sync (`MDB_NOSYNC`) and is then written
/// back a chunk at a time and synced (`LMDBEnvironment.writeBackAndSync`), so that a
/// catch-up's tens of MB never sit in front of the data environment's syncs. Until that
/// sync, an OS crash could keep LMDB's new meta page and lose pages it points to. A
/// process crash cannot (the kernel still holds every page written), so the marker names
/// the boot: at start, "open" from an earlier boot means the environment may be corrupt
/// and is rebuilt from the data (`DatabaseEnvironment.reconcileIndexes`); from this boot
/// it only needs the sync it missed.
struct IndexSyncMarker {
    let path: String

    enum State: Equatable {
        /// No commit waits for its sync (or the file is missing: a new environment).
        case synced
        /// A commit may not be synced, and the machine has not restarted since.
        case openThisBoot
        /// A commit may not have been synced before the machine restarted.
        case openEarlierBoot
    }

    init(directory: String) { path = directory + "/sync-state" }

    /// This boot's identity (Linux); nil where there is none, and then any "open" marker
    /// counts as from an earlier boot.
    static let currentBoot: String? = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines)

    func state(boot: String? = Self.currentBoot) -> State {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return .synced }
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.first == "open" else { return .synced }
        return boot != nil && words.count == 2 && String(words[1]) == boot ? .openThisBoot : .openEarlierBoot
    }

    /// Before a commit that will not be synced at once: durable before the commit is.
    func markOpen(boot: String? = Self.currentBoot) throws {
        try write("open \(boot ?? "unknown")\n", sync: true)
    }

    /// After the sync: no need to be durable (lost, it costs a rebuild after an OS crash).
    func markSynced() throws {
        try write("synced\n", sync: false)
    }

    private func write(_ text: String, sync: Bool) throws {
        let created = !FileManager.default.fileExists(atPath: path)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw IndexSyncMarkerError(path: path, errno: errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Foundation.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw IndexSyncMarkerError(path: path, errno: errno)
        }
        guard sync else { return }
        guard fsync(fd) == 0 else { throw IndexSyncMarkerError(path: path, errno: errno) }
        // A new file is durable once its directory entry is.
        if created { try DirectorySync.sync((path as NSString).deletingLastPathComponent) }
    }
}

struct IndexSyncMarkerError: Error, CustomStringConvertible {
    let path: String
    let errno: Int32
    var description: String { "\(path): \(String(cString: strerror(errno)))" }
}
