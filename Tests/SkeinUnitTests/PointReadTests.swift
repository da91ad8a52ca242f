import Testing
import SkeinCore
@testable import SkeinService

/// Which requests the store answers on its request socket's thread (`RPCRequest.isPointRead`):
/// only those that cannot read much.
struct PointReadTests {
    func request(_ op: String, page: PageRequest? = PageRequest(), body: JSON = ["ids": [1, 2, 3]]) -> RPCRequest {
        var header: JSON = ["op": .string(op)]
        if let page { header = page.adding(to: header) }
        return RPCRequest(header: header, body: body.serialized())
    }

    @Test func aFirstDefaultPageOfAFewIdsAndACursorArePointReads() {
        #expect(request("search_by_id").isPointRead)
        #expect(request("search_by_hash").isPointRead)
        #expect(request("replication_cursor", page: nil, body: ["database": "data", "peer": "node-b"]).isPointRead)
    }

    @Test func whatMayReadMuchIsNot() {
        // A whole result at once, a later page, a page bigger than the default.
        #expect(!request("search_by_id", page: nil).isPointRead)
        #expect(!request("search_by_id", page: PageRequest(continuation: "token")).isPointRead)
        #expect(!request("search_by_id", page: PageRequest(bytes: PageRequest.defaultBytes + 1)).isPointRead)
        // Many ids.
        let ids = JSON.array((0..<2000).map { JSON($0) })
        #expect(!request("search_by_id", body: ["ids": ids]).isPointRead)
        // Other reads and any write.
        for op in ["search_by_value", "search_by_conditions", "sql", "describe_all", "insert", "replication_apply", ""] {
            #expect(!request(op).isPointRead, "\(op)")
        }
    }
}
