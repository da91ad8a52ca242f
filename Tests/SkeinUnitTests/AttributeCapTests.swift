import Testing
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage

/// A table's attributes are capped (each indexed one is an LMDB database; review F15): a
/// local write or `create_attribute` past the cap is 400 and changes nothing; a peer's
/// records are stored whatever they carry, the table learning no attribute past the cap.
@Suite("Attribute cap")
struct AttributeCapTests {
    static func record(_ id: Int, attributes n: Int, prefix: String = "a") -> JSON {
        var o: [String: JSON] = ["id": JSON(id)]
        for i in 0..<n { o["\(prefix)\(i)"] = JSON(i) }
        return .object(o)
    }

    func attributes(_ f: StorageFixture) throws -> [String] {
        try f.read { try #require(try f.env.table($0, "dog")).attributes }
    }

    @Test func localWritesPastTheCapAreRefused() throws {
        let f = try StorageFixture()
        f.env.maxAttributes = 10
        try f.createTable()  // id, __createdtime__, __updatedtime__
        _ = try f.insert([Self.record(1, attributes: 7)])
        #expect(try attributes(f).count == 10)
        #expect(throws: SkeinError.self) { _ = try f.insert([Self.record(2, attributes: 8)]) }
        #expect(try f.read { try f.env.searchByID($0, table: "dog", ids: [2], attributes: ["*"]) }.isEmpty, "the refused insert wrote nothing")
        #expect(throws: SkeinError.self) {
            try f.write { txn, ctx in _ = try f.env.createAttribute(txn, table: "dog", attribute: "more", context: ctx) }
        }
        #expect(try attributes(f).count == 10)
        #expect(throws: SkeinError.self) {
            try f.write { txn, ctx in
                _ = try f.env.createTable(txn, name: "wide", primaryKey: "id", attributes: (0..<20).map { "c\($0)" }, context: ctx)
            }
        }
    }

    @Test func aPeersRecordsAreStoredButTeachNoAttributePastTheCap() throws {
        let f = try StorageFixture()
        f.env.maxAttributes = 10
        try f.createTable()
        let entry = AuditEntry(sequence: 1, version: HLCTimestamp(millis: 1_700_000_000_000, counter: 0), origin: "node-b", user: "u",
                               operation: "insert", table: "dog", ids: [5], records: [Self.record(5, attributes: 20, prefix: "p")],
                               previous: [], details: ["primary_key": "id"])
        let outcome = try f.write { txn, _ in try f.env.applyReplicated(txn, peer: "node-b", entries: [entry], through: 1) }
        #expect(outcome.applied == 1)
        #expect(try attributes(f).count == 10)
        let stored = try f.read { txn in try f.env.searchByID(txn, table: "dog", ids: [5], attributes: ["*"]) }
        #expect(stored.first?["p19"] == 19, "the record is whole")
    }
}
