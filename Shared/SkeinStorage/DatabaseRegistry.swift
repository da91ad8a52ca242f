import Foundation
import SkeinCore
import SkeinLMDB

/// The databases of a node: one LMDB environment per directory under `dataDir`.
///
/// `store` opens them for writing; `auditd` opens the same directories (LMDB is
/// multi-process safe) and re-opens one that was dropped and re-created.
public final class DatabaseRegistry: @unchecked Sendable {
    public let dataDir: String
    let mapSize: UInt64
    /// Whether databases open their index environment (store: yes; auditd never searches).
    let indexes: Bool
    private let lock = NSLock()
    private var open: [String: DatabaseEnvironment] = [:]

    public static let systemDatabase = "system"

    /// Attributes per table (`storage.maxAttributesPerTable`), given to every environment.
    public let maxAttributes: Int

    /// The node's clock (`testing.clockOffsetMs` included), given to every environment: what
    /// reads call now when they leave expired records out.
    public let clock: WallClock

    public init(dataDir: String, mapSize: UInt64, indexes: Bool = true, maxAttributes: Int = TableSchema.defaultMaxAttributes,
                clock: WallClock = WallClock()) throws {
        self.clock = clock
        self.dataDir = dataDir
        self.mapSize = mapSize
        self.indexes = indexes
        self.maxAttributes = maxAttributes
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(dataDir, 0o700)
        // What a drop cut short (a crash between its rename and its removal) goes now.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: dataDir)) ?? [] where entry.hasPrefix(Self.droppedPrefix) {
            try? FileManager.default.removeItem(atPath: dataDir + "/" + entry)
        }
    }

    /// Opens `name`'s environment with this node's settings.
    private func environment(_ name: String) throws -> DatabaseEnvironment {
        let env = try DatabaseEnvironment(name: name, path: path(name), mapSize: mapSize, indexes: indexes)
        env.maxAttributes = maxAttributes
        env.clock = clock
        return env
    }

    /// A dropped database's directory is renamed to this prefix first, then removed.
    static let droppedPrefix = ".dropped-"

    func path(_ name: String) -> String { dataDir + "/" + name }

    /// Names of the databases on disk, sorted.
    public func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dataDir)) ?? []
        return entries.filter { StorageLayout.isValidName($0) && FileManager.default.fileExists(atPath: path($0) + "/data.mdb") }.sorted()
    }

    public func exists(_ name: String) -> Bool {
        StorageLayout.isValidName(name) && FileManager.default.fileExists(atPath: path(name) + "/data.mdb")
    }

    /// The open environment of an existing database; nil when it does not exist.
    public func database(_ name: String) throws -> DatabaseEnvironment? {
        guard exists(name) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let env = open[name], !env.isStale { return env }
        // Dropped meanwhile: opening would create its files again.
        guard exists(name) else { return nil }
        let env = try environment(name)
        open[name] = env
        return env
    }

    /// The environment of a database this process has open, never opening one: for a
    /// background worker, which must not re-create files of a database being dropped.
    public func opened(_ name: String) -> DatabaseEnvironment? {
        lock.lock()
        defer { lock.unlock() }
        guard let env = open[name], !env.isStale else { return nil }
        return env
    }

    /// Names of the databases this process has open.
    public func openedNames() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return open.keys.sorted()
    }

    /// Opens, creating when missing. Returns the environment and whether it was created.
    public func create(_ name: String) throws -> (DatabaseEnvironment, Bool) {
        guard StorageLayout.isValidName(name) else {
            throw SkeinError.badRequest("invalid database name '\(name)': use letters, digits, '_' and '-' (at most 64)")
        }
        let existed = exists(name)
        lock.lock()
        defer { lock.unlock() }
        if existed, let env = open[name], !env.isStale { return (env, false) }
        let env = try environment(name)
        if !existed {
            // The new directories and files outlive a power loss before the first write that
            // is acknowledged in them (F27).
            if indexes { try DirectorySync.sync(path(name) + "/indexes") }
            try DirectorySync.sync(path(name))
            try DirectorySync.sync(dataDir)
        }
        open[name] = env
        return (env, !existed)
    }

    /// Forgets and deletes a database. Readers still holding the environment finish
    /// safely: LMDB's files stay mapped until the last reference closes them.
    public func drop(_ name: String) throws {
        // Renamed under the lock, so no reader re-opens (and re-creates) it while its files
        // are being removed (a search polling the database during a replicated drop did).
        let trash = dataDir + "/" + Self.droppedPrefix + name + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        lock.lock()
        open[name] = nil
        do {
            try FileManager.default.moveItem(atPath: path(name), toPath: trash)
        } catch {
            lock.unlock()
            throw error
        }
        lock.unlock()
        try FileManager.default.removeItem(atPath: trash)
    }

    public func closeAll() {
        lock.lock()
        let all = open.values
        open.removeAll()
        lock.unlock()
        for env in all { env.lmdb.close() }
    }
}
