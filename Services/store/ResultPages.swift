import Foundation
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

/// Search results handed out page by page (docs/INTERFACES.md §5 "Paged results"), so the
/// store never holds a whole result: between pages it keeps the search's `SearchCursor`
/// (its plan and position), under a random token only the caller that started it may use.
/// A cursor nobody asks for within `idleSeconds` is dropped; at most `maxOpen` are kept.
final class ResultPages: @unchecked Sendable {
    struct Open {
        let user: String?
        let database: String
        var cursor: SearchCursor
        var lastUsed: Date
    }

    static let idleSeconds: TimeInterval = 60
    static let maxOpen = 256

    let registry: DatabaseRegistry
    private let lock = NSLock()
    private var open: [String: Open] = [:]

    init(registry: DatabaseRegistry) {
        self.registry = registry
    }

    /// The first page of a search planned by `StoreReads.searchPlan`.
    func first(_ search: StoreReads.SearchPlan, user: String?, page: PageRequest) throws -> RPCReply {
        let env = search.env
        let (rows, cursor) = try env.lmdb.read { txn in
            var cursor = try search.plan(txn)
            return (try cursor.next(env: env, txn: txn, maxRows: page.rows, maxBytes: page.bytes), cursor)
        }
        return try reply(rows, Open(user: user, database: env.name, cursor: cursor, lastUsed: Date()), token: nil)
    }

    /// The page after the one that carried `token`.
    func next(token: String, user: String?, page: PageRequest) throws -> RPCReply {
        guard var entry = take(token) else { throw SkeinError.notFound("result cursor '\(token)' does not exist (finished, or idle longer than \(Int(Self.idleSeconds)) s)") }
        guard entry.user == user else { throw SkeinError.forbidden("result cursor '\(token)' belongs to another user") }
        if page.cancel { return RPCReply(json: []) }
        guard let env = try registry.database(entry.database) else { throw SkeinError.notFound("database '\(entry.database)' does not exist") }
        let rows = try env.lmdb.read { try entry.cursor.next(env: env, txn: $0, maxRows: page.rows, maxBytes: page.bytes) }
        entry.lastUsed = Date()
        return try reply(rows, entry, token: token)
    }

    var openCount: Int { lock.withLock { open.count } }

    private func reply(_ rows: [JSON], _ entry: Open, token: String?) throws -> RPCReply {
        let body = JSON.array(rows).serialized()
        guard !entry.cursor.isFinished else { return RPCReply(status: 200, body: body) }
        let token = token ?? Self.newToken()
        try lock.withLock {
            expire(now: Date())
            guard open.count < Self.maxOpen else { throw SkeinError.unavailable("too many paged results open (\(Self.maxOpen)); retry later") }
            open[token] = entry
        }
        return RPCReply(status: 200, body: body, more: token)
    }

    /// Removes the cursor while a page is read: a token is used by one request at a time.
    private func take(_ token: String) -> Open? {
        lock.withLock {
            expire(now: Date())
            return open.removeValue(forKey: token)
        }
    }

    private func expire(now: Date) {
        open = open.filter { now.timeIntervalSince($0.value.lastUsed) < Self.idleSeconds }
    }

    static func newToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(g.next() as UInt64, radix: 16) }.joined(separator: "-")
    }
}
