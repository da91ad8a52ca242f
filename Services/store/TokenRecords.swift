import SkeinCore
import SkeinLMDB
import SkeinStorage

/// What authentication tokens need from the `system` database (docs/INTERFACES.md §5):
/// the keys that sign them (`hdb_token_key`, one per node that issued tokens, keyed by the
/// node's name, so every node can check every node's tokens once the table replicated) and
/// each user's current refresh token (its SHA-256 in `hdb_user.refresh_token`, as Harper
/// keeps it, so a new one retires the old).
extension SystemTables {
    static let tokenKeys = "hdb_token_key"

    func tokenKeys() throws -> JSON {
        let env = try system
        return .array(try env.lmdb.read { txn in
            guard try env.table(txn, Self.tokenKeys) != nil else { return [] }
            return try env.search(txn, table: Self.tokenKeys, condition: .group(.and, []), options: .init())
        })
    }

    /// `ensure_token_key {id, secret}`: stores the key unless one with that id exists;
    /// answers the stored one (the first node to write its key keeps it).
    func ensureTokenKey(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let id = try req.requiredString("id")
        let secret = try req.requiredString("secret")
        guard !id.isEmpty, secret.utf8.count >= 32 else { throw SkeinError.badRequest("'id' must not be empty and 'secret' at least 32 characters") }
        if try env.table(txn, Self.tokenKeys) == nil {
            _ = try env.createTable(txn, name: Self.tokenKeys, primaryKey: "id", attributes: [], context: ctx)
        }
        if let existing = try env.searchByID(txn, table: Self.tokenKeys, ids: [.string(id)], attributes: nil).first { return existing }
        let record: JSON = ["id": .string(id), "secret": .string(secret), "algorithm": "HS256"]
        _ = try env.write(txn, table: Self.tokenKeys, records: [record], mode: .insert, context: ctx)
        return record
    }

    /// `set_refresh_token {username, hash}`.
    func setRefreshToken(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let username = try req.requiredString("username")
        let hash = try req.requiredString("hash")
        let result = try env.write(txn, table: Self.users, records: [["username": .string(username), "refresh_token": .string(hash)]],
                                   mode: .update, context: ctx)
        guard result["update_hashes"]?.arrayValue?.isEmpty == false else { throw SkeinError.notFound("User '\(username)' does not exist") }
        return ["stored": true]
    }
}
