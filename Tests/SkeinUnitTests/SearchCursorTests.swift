import Foundation
import Testing
import SkeinCore
import SkeinLMDB
import SkeinService
@testable import SkeinStorage

/// A result read page by page is the result read at once: same rows, same order, for every
/// plan (scan, index candidates, sorted, ids), offsets and limits, and any page size.
@Suite("Storage: search cursor (paged results)")
struct SearchCursorTests {
    typealias Options = DatabaseEnvironment.SearchOptions

    static func options(offset: Int = 0, limit: Int? = nil, sort: String? = nil, descending: Bool = false) -> Options {
        var o = Options()
        o.offset = offset
        o.limit = limit
        o.sortAttribute = sort
        o.sortDescending = descending
        return o
    }

    static let shapes: [(String, Options)] = [
        ("plain", options()),
        ("offset", options(offset: 7)),
        ("limit", options(limit: 11)),
        ("offset and limit", options(offset: 5, limit: 9)),
        ("limit 0", options(limit: 0)),
        ("sorted", options(sort: "age")),
        ("sorted descending, offset, limit", options(offset: 3, limit: 20, sort: "weight", descending: true)),
    ]

    /// Every page in its own read transaction, as the store serves them.
    static func paged(_ f: StorageFixture, _ condition: SearchCondition, _ options: Options, rows: Int, bytes: Int = .max) throws -> [JSON] {
        var cursor = try f.read { try SearchCursor(env: f.env, txn: $0, table: "dog", condition: condition, options: options) }
        var out: [JSON] = []
        var pages = 0
        while !cursor.isFinished {
            let page = try f.read { try cursor.next(env: f.env, txn: $0, maxRows: rows, maxBytes: bytes) }
            #expect(page.count <= rows)
            out += page
            pages += 1
            #expect(pages < 1000, "a cursor always moves on")
            if pages >= 1000 { break }
        }
        return out
    }

    @Test(arguments: [1, 4, 50])
    func pagesJoinToTheWholeResult(rows: Int) throws {
        let f = try StorageSearchTests.populated()
        let conditions = StorageSearchTests.conditions + [("everything", SearchCondition.byValue(attribute: "id", value: "*"))]
        for (name, condition) in conditions {
            for (shape, options) in Self.shapes {
                let whole = try f.read { try f.env.search($0, table: "dog", condition: condition, options: options) }
                #expect(try Self.paged(f, condition, options, rows: rows) == whole, "\(name), \(shape), \(rows) a page")
            }
        }
    }

    @Test func aByteBudgetEndsAPageButAlwaysTakesOneRow() throws {
        let f = try StorageSearchTests.populated()
        let all = SearchCondition.byValue(attribute: "id", value: "*")
        let whole = try f.read { try f.env.search($0, table: "dog", condition: all, options: .init()) }
        #expect(whole.count == 300)
        var cursor = try f.read { try SearchCursor(env: f.env, txn: $0, table: "dog", condition: all, options: .init()) }
        let first = try f.read { try cursor.next(env: f.env, txn: $0, maxBytes: 1) }
        #expect(first.count == 1)
        #expect(try Self.paged(f, all, .init(), rows: .max, bytes: 2000) == whole)
    }

    @Test func idsComeInTheirOrderAcrossPages() throws {
        let f = try StorageSearchTests.populated()
        let ids: [JSON] = [5, 3, 999, 3, "7", 200]
        let whole = try f.read { try f.env.searchByID($0, table: "dog", ids: ids, attributes: ["id"]) }
        #expect(whole == [["id": 5], ["id": 3], ["id": 3], ["id": 200]], "ids are typed: \"7\" is not 7")
        var cursor = try f.read { try SearchCursor(env: f.env, txn: $0, table: "dog", ids: ids, attributes: ["id"]) }
        var out: [JSON] = []
        while !cursor.isFinished { out += try f.read { try cursor.next(env: f.env, txn: $0, maxRows: 2) } }
        #expect(out == whole)
    }

    /// Writes between pages: a deleted record is not returned, a changed one comes with its
    /// new value only if it still matches, and no record comes twice.
    @Test(arguments: ["scan", "index", "sorted"])
    func writesBetweenPages(plan: String) throws {
        let f = try StorageSearchTests.populated()
        let condition: SearchCondition = plan == "scan"
            ? .leaf(attribute: "name", comparator: .ends_with, value: "0")
            : .leaf(attribute: "age", comparator: .greater_than_equal, value: 0)
        let options = plan == "sorted" ? Self.options(sort: "name") : Options()
        var cursor = try f.read { try SearchCursor(env: f.env, txn: $0, table: "dog", condition: condition, options: options) }
        var seen: [JSON] = try f.read { try cursor.next(env: f.env, txn: $0, maxRows: 5) }
        #expect(seen.count == 5)
        let seenIDs = Set(seen.compactMap { $0["id"]?.doubleValue })
        // Every record not yet returned: delete a few, make a few stop matching, update others.
        let rest = try f.allRecords().filter { condition.matches($0) }.compactMap { $0["id"]?.doubleValue }.filter { !seenIDs.contains($0) }
        let deleted = Array(rest.prefix(3)), unmatched = Array(rest.dropFirst(3).prefix(3)), updated = Array(rest.dropFirst(6).prefix(3))
        try f.write { txn, ctx in _ = try f.env.delete(txn, table: "dog", ids: deleted.map { .number($0) }, context: ctx) }
        try f.insert(unmatched.map { ["id": .number($0), "name": "renamed-x", "age": -1] } + updated.map { ["id": .number($0), "breed": "updated"] },
                     mode: .update)
        // A record already returned changes too: it must not come again.
        try f.insert(seen.map { ["id": $0["id"]!, "breed": "again"] }, mode: .update)
        while !cursor.isFinished { seen += try f.read { try cursor.next(env: f.env, txn: $0, maxRows: 7) } }
        let ids = seen.compactMap { $0["id"]?.doubleValue }
        #expect(ids.count == Set(ids).count, "none twice")
        #expect(Set(ids).isDisjoint(with: deleted + unmatched))
        for id in updated { #expect(seen.first { $0["id"]?.doubleValue == id }?["breed"] == "updated") }
        #expect(ids.count == seenIDs.count + rest.count - 6)
    }

    @Test func stitchedPagesAreOneArray() throws {
        var a = ArrayStitcher()
        var out = a.open(Array("[1,2]".utf8))
        out += try a.append(Array("[]".utf8))
        out += try a.append(Array("[{\"a\":[3]}]".utf8))
        out += a.close()
        #expect(try JSON.parse(out) == [1, 2, ["a": [3]]])
        var empty = ArrayStitcher()
        #expect(try JSON.parse(empty.open(Array("[]".utf8)) + empty.append(Array("[]".utf8)) + empty.close()) == [])
        #expect(throws: SkeinError.self) { try empty.append(Array("{}".utf8)) }
    }
}
