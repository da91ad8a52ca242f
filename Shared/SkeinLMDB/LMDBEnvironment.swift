import CLMDB
import Foundation

/// An open LMDB environment (one directory). Safe to share between threads: read
/// transactions may run on any thread (`MDB_NOTLS`), write transactions are serialised by
/// LMDB itself (and across processes by its lock file).
public final class LMDBEnvironment: @unchecked Sendable {
    let env: OpaquePointer
    public let path: String
    /// Named-database handles are per environment and `mdb_dbi_open` must not run
    /// concurrently, so handles are opened once, under this lock, and cached. A handle opened
    /// in a write transaction is published only once that transaction committed, stamped
    /// with a generation: a transaction sees only handles published before it began (LMDB
    /// refuses, with EINVAL, a handle that did not exist when a transaction began).
    private let handleLock = NSLock()
    private var handles: [String: (dbi: MDB_dbi, published: UInt64)] = [:]
    private var generation: UInt64 = 0
    private var closed = false

    /// `syncedByCaller`: commits do not sync (`MDB_NOSYNC`); the caller makes them durable
    /// with `writeBackAndSync` and must itself know, after an OS crash, whether one was not
    /// (LMDB's pages may then be inconsistent: `IndexSyncMarker`). The map then has no
    /// readahead (`MDB_NORDAHEAD`): its readers look up pages of B-trees, not runs of them.
    public init(path: String, mapSize: UInt64, maxDatabases: UInt32 = 4096, readOnly: Bool = false, syncedByCaller: Bool = false) throws {
        // Private to the service user whatever the umask: the files hold every record and
        // the users' password hashes. Existing files and directories are made private too.
        if !readOnly {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            chmod(path, 0o700)
        }
        var e: OpaquePointer?
        try LMDBError.check(mdb_env_create(&e), "env_create")
        guard let e else { throw LMDBError(code: -1, operation: "env_create") }
        do {
            try LMDBError.check(mdb_env_set_mapsize(e, Int(mapSize)), "set_mapsize")
            try LMDBError.check(mdb_env_set_maxdbs(e, maxDatabases), "set_maxdbs")
            try LMDBError.check(mdb_env_set_maxreaders(e, 1022), "set_maxreaders")
            var flags = UInt32(MDB_NOTLS)
            if readOnly { flags |= UInt32(MDB_RDONLY) }
            if syncedByCaller { flags |= UInt32(MDB_NOSYNC) | UInt32(MDB_NORDAHEAD) }
            try LMDBError.check(mdb_env_open(e, path, flags, 0o600), "env_open \(path)")
            if !readOnly {
                for file in ["data.mdb", "lock.mdb"] { chmod(path + "/" + file, 0o600) }
            }
        } catch {
            mdb_env_close(e)
            throw error
        }
        env = e
        self.path = path
        // Readers left by a process killed with SIGKILL would pin old pages forever.
        var dead: Int32 = 0
        mdb_reader_check(e, &dead)
    }

    deinit { close() }

    /// How much of the map is in use (pages up to the last one written: free pages inside
    /// count, LMDB reuses them before it grows) and the map's size, for the map-full alarm
    /// before writes fail with 507. Nil once closed.
    public func mapUse() -> (usedBytes: UInt64, mapBytes: UInt64)? {
        handleLock.lock()
        defer { handleLock.unlock() }
        guard !closed else { return nil }
        var info = MDB_envinfo()
        var stat = MDB_stat()
        guard mdb_env_info(env, &info) == 0, mdb_env_stat(env, &stat) == 0 else { return nil }
        return (UInt64(info.me_last_pgno + 1) * UInt64(stat.ms_psize), UInt64(info.me_mapsize))
    }

    /// Makes every commit so far durable (an environment opened `syncedByCaller`): writes
    /// the file's dirty pages back `chunkBytes` at a time, each chunk written before the next
    /// is started, then syncs. Why in chunks: one sync of tens of MB (an index catch-up)
    /// held the disk queue for 100 ms or more, and every other commit's sync (the writes
    /// clients wait for, on the same disk) waited behind it; in chunks, another sync waits
    /// for one chunk at most.
    public func writeBackAndSync(chunkBytes: Int = 1 << 20) throws {
        var fd: Int32 = -1
        try LMDBError.check(mdb_env_get_fd(env, &fd), "env_get_fd")
        if let use = mapUse() {
            var offset: Int64 = 0
            while offset < Int64(use.usedBytes) {
                if skein_write_back_range(fd, offset, Int64(chunkBytes)) != 0 { break }
                offset += Int64(chunkBytes)
            }
        }
        try LMDBError.check(mdb_env_sync(env, 1), "env_sync \(path)")
    }

    public func close() {
        handleLock.lock()
        defer { handleLock.unlock() }
        if closed { return }
        closed = true
        mdb_env_close(env)
    }

    /// Runs `body` in a read-only transaction.
    public func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        let txn = try LMDBTransaction(env: self, parent: nil, readOnly: true)
        defer { txn.abort() }
        return try body(txn)
    }

    /// Runs `body` in a write transaction, committed (durably) when `body` returns.
    public func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        let txn = try LMDBTransaction(env: self, parent: nil, readOnly: false)
        do {
            let result = try body(txn)
            try txn.commit()
            return result
        } catch {
            txn.abort()
            throw error
        }
    }

    /// Begins a read transaction the caller ends with `abort` (one that outlives a closure).
    public func beginRead() throws -> LMDBTransaction {
        try LMDBTransaction(env: self, parent: nil, readOnly: true)
    }

    /// Begins a write transaction the caller commits or aborts (the group-commit writer).
    public func beginWrite() throws -> LMDBTransaction {
        try LMDBTransaction(env: self, parent: nil, readOnly: false)
    }

    /// The handle of a named database, opening (and with `create`, creating) it. `nil` when
    /// it does not exist. Creation happens in its own short write transaction, so it must
    /// not be called while this thread holds another write transaction of this environment:
    /// use `LMDBTransaction.database(_:create:)` inside a write.
    public func database(_ name: String, dupSort: Bool = false) throws -> LMDBDatabase? {
        handleLock.lock()
        defer { handleLock.unlock() }
        if let h = handles[name] { return LMDBDatabase(dbi: h.dbi, name: name) }
        let txn = try LMDBTransaction(env: self, parent: nil, readOnly: true, generation: generation)
        var dbi: MDB_dbi = 0
        var flags: UInt32 = 0
        if dupSort { flags |= UInt32(MDB_DUPSORT) }
        let rc = mdb_dbi_open(txn.txn, name, flags, &dbi)
        if rc == MDB_NOTFOUND { txn.abort(); return nil }
        if rc != 0 { txn.abort(); throw LMDBError(code: rc, operation: "dbi_open \(name)") }
        try txn.commit()
        generation += 1
        handles[name] = (dbi, generation)
        return LMDBDatabase(dbi: dbi, name: name)
    }

    func openInWrite(_ txn: LMDBTransaction, name: String, create: Bool, dupSort: Bool) throws -> LMDBDatabase? {
        handleLock.lock()
        defer { handleLock.unlock() }
        if let h = handles[name] { return LMDBDatabase(dbi: h.dbi, name: name) }
        if let dbi = txn.openedHere(name) { return LMDBDatabase(dbi: dbi, name: name) }
        var dbi: MDB_dbi = 0
        var flags: UInt32 = 0
        if create { flags |= UInt32(MDB_CREATE) }
        if dupSort { flags |= UInt32(MDB_DUPSORT) }
        let rc = mdb_dbi_open(txn.txn, name, flags, &dbi)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBError.check(rc, "dbi_open \(name)")
        // Private to this transaction (and its children) until its top-level commit
        // publishes it; an abort closes it in LMDB and here it is simply dropped.
        txn.createdHandles[name] = dbi
        return LMDBDatabase(dbi: dbi, name: name)
    }

    /// After a top-level write committed: its new handles become visible to transactions
    /// that begin from now on.
    func publish(_ created: [String: MDB_dbi]) {
        guard !created.isEmpty else { return }
        handleLock.lock()
        defer { handleLock.unlock() }
        generation += 1
        for (name, dbi) in created { handles[name] = (dbi, generation) }
    }

    /// The generation a transaction beginning now sees (taken before `mdb_txn_begin`).
    func currentGeneration() -> UInt64 {
        handleLock.lock()
        defer { handleLock.unlock() }
        return generation
    }

    func forget(_ names: [String]) {
        handleLock.lock()
        defer { handleLock.unlock() }
        for n in names { handles[n] = nil }
    }

    /// A handle already opened in this process, without touching LMDB: readers use this so
    /// that only the writer ever calls `mdb_dbi_open` while transactions are live. With
    /// `txn`: only a handle valid in it (published before it began, or opened in it).
    public func cached(_ name: String, in txn: LMDBTransaction? = nil) -> LMDBDatabase? {
        handleLock.lock()
        defer { handleLock.unlock() }
        if let txn, let dbi = txn.openedHere(name) { return LMDBDatabase(dbi: dbi, name: name) }
        guard let h = handles[name], txn.map({ h.published <= $0.generation }) ?? true else { return nil }
        return LMDBDatabase(dbi: h.dbi, name: name)
    }

    /// Names of all named databases in this environment.
    public func databaseNames() throws -> [String] {
        try read { txn in
            var names: [String] = []
            // The main database (the one that lists named databases) is opened with a nil name.
            var main: MDB_dbi = 0
            try LMDBError.check(mdb_dbi_open(txn.txn, nil, 0, &main), "dbi_open main")
            let cursor = try txn.cursor(LMDBDatabase(dbi: main, name: ""))
            var next = try cursor.first()
            while let (k, _) = next {
                names.append(String(decoding: k, as: UTF8.self))
                next = try cursor.next()
            }
            return names
        }
    }

    /// Size in bytes of the data file.
    public var fileSize: UInt64 {
        let attrs = try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")
        return (attrs?[.size] as? NSNumber)?.uint64Value ?? 0
    }
}

/// A named database (table of keys) inside an environment.
public struct LMDBDatabase: Sendable, Hashable {
    let dbi: MDB_dbi
    public let name: String
}
