import CLMDB

/// An LMDB return code with LMDB's own message.
public struct LMDBError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let operation: String

    public var description: String { "LMDB \(operation): \(String(cString: mdb_strerror(code))) (\(code))" }

    /// The map is full: the operator must raise `storage.mapSize`.
    public var isMapFull: Bool { code == MDB_MAP_FULL }

    /// `operation` is built only on failure (every get and put checks its result).
    static func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
        if rc != 0 { throw LMDBError(code: rc, operation: operation()) }
    }
}
