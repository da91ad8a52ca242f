import CLMDB

/// A cursor over one database. Keys and values are copied out as byte arrays.
public final class LMDBCursor {
    let cursor: OpaquePointer
    let txn: LMDBTransaction

    init(txn: LMDBTransaction, db: LMDBDatabase) throws(LMDBError) {
        var c: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(txn.txn, db.dbi, &c), "cursor_open \(db.name)")
        cursor = c!
        self.txn = txn
    }

    /// LMDB frees a write transaction's cursors when it ends; read-only ones must always be
    /// closed by us.
    deinit {
        if txn.readOnly || !txn.finished { mdb_cursor_close(cursor) }
    }

    public typealias Entry = (key: [UInt8], value: [UInt8])

    /// One cursor step: the entry, nil only at the end of the data (`MDB_NOTFOUND`); any
    /// other failure (a corrupted page, a failed transaction) throws, so it is never taken
    /// for the end of a table, a log or a copy.
    private func op(_ o: MDB_cursor_op, key: [UInt8]? = nil, value: [UInt8]? = nil) throws(LMDBError) -> Entry? {
        let k = key ?? []
        let v = value ?? []
        // Read in place (LMDB writes only the output `MDB_val`s): no copy of the inputs.
        let (rc, entry) = k.withUnsafeBytes { kp in
            v.withUnsafeBytes { vp -> (Int32, Entry?) in
                var kv = MDB_val(mv_size: kp.count, mv_data: key == nil ? nil : UnsafeMutableRawPointer(mutating: kp.baseAddress))
                var vv = MDB_val(mv_size: vp.count, mv_data: value == nil ? nil : UnsafeMutableRawPointer(mutating: vp.baseAddress))
                let rc = mdb_cursor_get(cursor, &kv, &vv, o)
                return rc == 0 ? (0, (LMDBTransaction.bytes(kv), LMDBTransaction.bytes(vv))) : (rc, nil)
            }
        }
        if rc == MDB_NOTFOUND { return nil }
        try LMDBError.check(rc, "cursor_get")
        return entry
    }

    public func first() throws(LMDBError) -> Entry? { try op(MDB_FIRST) }
    public func last() throws(LMDBError) -> Entry? { try op(MDB_LAST) }
    public func next() throws(LMDBError) -> Entry? { try op(MDB_NEXT) }
    public func prev() throws(LMDBError) -> Entry? { try op(MDB_PREV) }
    /// Positions at the first key >= `key`.
    public func seek(_ key: [UInt8]) throws(LMDBError) -> Entry? { try op(MDB_SET_RANGE, key: key) }
    /// Next value of the same key (dup-sorted databases).
    public func nextDuplicate() throws(LMDBError) -> Entry? { try op(MDB_NEXT_DUP) }
    /// First entry of the next key (dup-sorted databases).
    public func nextKey() throws(LMDBError) -> Entry? { try op(MDB_NEXT_NODUP) }

    /// Puts `key`/`value`, both read in place (write transactions only). Through one cursor,
    /// a run of puts in key order is cheaper than `LMDBTransaction.put`: LMDB looks for the
    /// key on the leaf page the cursor is on before it descends from the root.
    public func put(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(LMDBError) {
        var kv = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var vv = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try LMDBError.check(mdb_cursor_put(cursor, &kv, &vv, 0), "cursor_put")
    }

    /// `body` over the value stored under `key`, read in place (nil when absent), the key
    /// found from the cursor's position as `put` finds it: for lookups in key order.
    public func withValue<T>(_ key: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try key.withUnsafeBytes { kp throws -> T? in
            var kv = MDB_val(mv_size: kp.count, mv_data: UnsafeMutableRawPointer(mutating: kp.baseAddress))
            var v = MDB_val()
            let rc = mdb_cursor_get(cursor, &kv, &v, MDB_SET_KEY)
            if rc == MDB_NOTFOUND { return nil }
            try LMDBError.check(rc, "cursor_get")
            return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
    }

    /// Deletes the pair `key`/`value` of a dup-sorted database when present, found from the
    /// cursor's position as `put` is (write transactions only).
    /// Whether the pair was there (and is gone now).
    @discardableResult
    public func delete(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(LMDBError) -> Bool {
        var kv = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var vv = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let rc = mdb_cursor_get(cursor, &kv, &vv, MDB_GET_BOTH)
        if rc == MDB_NOTFOUND { return false }
        try LMDBError.check(rc, "cursor_get")
        try LMDBError.check(mdb_cursor_del(cursor, 0), "cursor_del")
        return true
    }

    /// `body` on every entry from the first, in order, read where LMDB holds them (valid
    /// only during the call; no copies).
    public func forEachInPlace(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        var kv = MDB_val(), vv = MDB_val()
        var rc = mdb_cursor_get(cursor, &kv, &vv, MDB_FIRST)
        while rc == 0 {
            try body(UnsafeRawBufferPointer(start: kv.mv_data, count: kv.mv_size), UnsafeRawBufferPointer(start: vv.mv_data, count: vv.mv_size))
            rc = mdb_cursor_get(cursor, &kv, &vv, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try LMDBError.check(rc, "cursor_get") }
    }

    /// Deletes the entry at the cursor (write transactions only).
    public func deleteCurrent() throws {
        try LMDBError.check(mdb_cursor_del(cursor, 0), "cursor_del")
    }
}
