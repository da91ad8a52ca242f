import CLMDB

/// A transaction. Values returned are copied out of the map, so they outlive it.
/// Not thread-safe: one transaction belongs to one thread.
public final class LMDBTransaction {
    let txn: OpaquePointer
    unowned let environment: LMDBEnvironment
    public let readOnly: Bool
    private(set) var finished = false
    /// Handles first opened in this transaction: LMDB closes them if it aborts; published
    /// to the environment when the top-level transaction commits.
    var createdHandles: [String: MDB_dbi] = [:]
    weak var parent: LMDBTransaction?
    /// The environment's handle generation when this transaction began: handles published
    /// later are not valid in it.
    let generation: UInt64

    init(env: LMDBEnvironment, parent: LMDBTransaction?, readOnly: Bool, generation: UInt64? = nil) throws(LMDBError) {
        self.generation = generation ?? parent?.generation ?? env.currentGeneration()
        var t: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(env.env, parent?.txn, readOnly ? UInt32(MDB_RDONLY) : 0, &t), "txn_begin")
        txn = t!
        environment = env
        self.readOnly = readOnly
        self.parent = parent
    }

    deinit { if !finished { mdb_txn_abort(txn) } }

    /// A nested write transaction: its changes join the parent's on `commit` or vanish on `abort`.
    public func child() throws -> LMDBTransaction {
        try LMDBTransaction(env: environment, parent: self, readOnly: false)
    }

    public func commit() throws {
        guard !finished else { return }
        finished = true
        let rc = mdb_txn_commit(txn)
        if rc != 0 { throw LMDBError(code: rc, operation: "txn_commit") }
        if let parent {
            parent.createdHandles.merge(createdHandles) { $1 }
        } else {
            environment.publish(createdHandles)
        }
    }

    /// A handle opened in this transaction or one of its parents, not yet published.
    func openedHere(_ name: String) -> MDB_dbi? {
        var t: LMDBTransaction? = self
        while let current = t {
            if let dbi = current.createdHandles[name] { return dbi }
            t = current.parent
        }
        return nil
    }

    public func abort() {
        guard !finished else { return }
        finished = true
        // Handles this transaction opened die with it; they were never published.
        mdb_txn_abort(txn)
    }

    /// Opens a named database in this transaction, creating it when `create` is set.
    public func database(_ name: String, create: Bool = false, dupSort: Bool = false) throws -> LMDBDatabase? {
        try environment.openInWrite(self, name: name, create: create, dupSort: dupSort)
    }

    public func get(_ db: LMDBDatabase, _ key: [UInt8]) throws -> [UInt8]? {
        try withValue(db, key[...]) { Array($0) }
    }

    /// `body` on the value under `key` where it lies in the map (nil: no such key), so a
    /// caller that looks at a few bytes of a large value copies none of it. The bytes are
    /// valid only inside `body` and must not be written.
    public func withValue<T>(_ db: LMDBDatabase, _ key: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try key.withUnsafeBytes { kp throws -> T? in
            var kv = MDB_val(mv_size: kp.count, mv_data: UnsafeMutableRawPointer(mutating: kp.baseAddress))
            var v = MDB_val()
            let rc = mdb_get(txn, db.dbi, &kv, &v)
            if rc == MDB_NOTFOUND { return nil }
            try LMDBError.check(rc, "get \(db.name)")
            return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
    }

    /// Stores `value` under `key`. With `noOverwrite`, returns false when the key exists.
    @discardableResult
    public func put(_ db: LMDBDatabase, _ key: [UInt8], _ value: [UInt8], noOverwrite: Bool = false, append: Bool = false) throws -> Bool {
        var flags: UInt32 = 0
        if noOverwrite { flags |= UInt32(MDB_NOOVERWRITE) }
        if append { flags |= UInt32(MDB_APPEND) }
        // Read in place: LMDB never writes through an input `MDB_val` (no `MDB_RESERVE`
        // here), and a mutable view of the caller's arrays copied each of them first.
        return try key.withUnsafeBytes { kp throws -> Bool in
            try value.withUnsafeBytes { vp throws -> Bool in
                var kv = MDB_val(mv_size: kp.count, mv_data: UnsafeMutableRawPointer(mutating: kp.baseAddress))
                var vv = MDB_val(mv_size: vp.count, mv_data: UnsafeMutableRawPointer(mutating: vp.baseAddress))
                let rc = mdb_put(txn, db.dbi, &kv, &vv, flags)
                if rc == MDB_KEYEXIST { return false }
                try LMDBError.check(rc, "put \(db.name)")
                return true
            }
        }
    }

    /// Deletes `key` (only the pair `key`/`value` in a dup-sorted database when given).
    @discardableResult
    public func delete(_ db: LMDBDatabase, _ key: [UInt8], value: [UInt8]? = nil) throws -> Bool {
        let v = value ?? []
        return try key.withUnsafeBytes { kp throws -> Bool in
            try v.withUnsafeBytes { vp throws -> Bool in
                var kv = MDB_val(mv_size: kp.count, mv_data: UnsafeMutableRawPointer(mutating: kp.baseAddress))
                var vv = MDB_val(mv_size: vp.count, mv_data: UnsafeMutableRawPointer(mutating: vp.baseAddress))
                let rc = value == nil ? mdb_del(txn, db.dbi, &kv, nil) : mdb_del(txn, db.dbi, &kv, &vv)
                if rc == MDB_NOTFOUND { return false }
                try LMDBError.check(rc, "del \(db.name)")
                return true
            }
        }
    }

    /// Number of entries in a database.
    public func count(_ db: LMDBDatabase) throws -> Int {
        var stat = MDB_stat()
        try LMDBError.check(mdb_stat(txn, db.dbi, &stat), "stat \(db.name)")
        return stat.ms_entries
    }

    /// Bytes of pages used by a database.
    public func byteSize(_ db: LMDBDatabase) throws -> UInt64 {
        var stat = MDB_stat()
        try LMDBError.check(mdb_stat(txn, db.dbi, &stat), "stat \(db.name)")
        return UInt64(stat.ms_psize) * UInt64(stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages)
    }

    /// Removes a named database and its handle.
    public func drop(_ db: LMDBDatabase) throws {
        try LMDBError.check(mdb_drop(txn, db.dbi, 1), "drop \(db.name)")
        environment.forget([db.name])
    }

    /// Empties a database, keeping it.
    public func clear(_ db: LMDBDatabase) throws {
        try LMDBError.check(mdb_drop(txn, db.dbi, 0), "clear \(db.name)")
    }

    public func cursor(_ db: LMDBDatabase) throws -> LMDBCursor {
        try LMDBCursor(txn: self, db: db)
    }

    static func bytes(_ v: MDB_val) -> [UInt8] {
        guard let p = v.mv_data, v.mv_size > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: v.mv_size))
    }
}
