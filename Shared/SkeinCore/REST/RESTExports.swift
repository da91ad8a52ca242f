/// Which tables the REST interface serves (`rest.exportTables`): every table (nil or `*`),
/// or those listed as `database.table`, or `table` for the default database `data`.
public struct RESTExports: Sendable, Equatable {
    let tables: Set<String>?

    public static let all = RESTExports(list: nil)

    public init(list: [String]?) {
        guard let list, !list.contains("*") else { tables = nil; return }
        tables = Set(list.map { $0.contains(".") ? $0 : RESTPath.defaultDatabase + "." + $0 })
    }

    public func exports(database: String, table: String) -> Bool {
        // The system database (users, roles, tokens) is never a REST resource.
        guard database != "system" else { return false }
        return tables?.contains(database + "." + table) ?? true
    }
}
