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

    private func op(_ o: MDB_cursor_op, key: [UInt8]? = nil, value: [UInt8]? = nil) -> Entry? {
        var k = key ?? []
        var v = value ?? []
        return k.withUnsafeMutableBytes { kp in
            v.withUnsafeMutableBytes { vp in
                var kv = MDB_val(mv_size: kp.count, mv_data: key == nil ? nil : kp.baseAddress)
                var vv = MDB_val(mv_size: vp.count, mv_data: value == nil ? nil : vp.baseAddress)
                guard mdb_cursor_get(cursor, &kv, &vv, o) == 0 else { return nil }
                return (LMDBTransaction.bytes(kv), LMDBTransaction.bytes(vv))
            }
        }
    }

    public func first() -> Entry? { op(MDB_FIRST) }
    public func last() -> Entry? { op(MDB_LAST) }
    public func next() -> Entry? { op(MDB_NEXT) }
    public func prev() -> Entry? { op(MDB_PREV) }
    /// Positions at the first key >= `key`.
    public func seek(_ key: [UInt8]) -> Entry? { op(MDB_SET_RANGE, key: key) }
    /// Next value of the same key (dup-sorted databases).
    public func nextDuplicate() -> Entry? { op(MDB_NEXT_DUP) }
    /// First entry of the next key (dup-sorted databases).
    public func nextKey() -> Entry? { op(MDB_NEXT_NODUP) }

    /// Deletes the entry at the cursor (write transactions only).
    public func deleteCurrent() throws {
        try LMDBError.check(mdb_cursor_del(cursor, 0), "cursor_del")
    }
}
