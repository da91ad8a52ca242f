import SkeinCore
import Testing

@Sendable func seedSearch(_ node: TestNode) async throws {
    try await node.ok(["operation": "create_table", "database": "srch", "table": "dog", "primary_key": "id"])
    _ = try await node.insert("srch", "dog", ProcessTests.Search.dogs)
}

extension ProcessTests {
    /// search_by_conditions over one seeded table, `srch.dog`.
    @Suite(.node(setup: seedSearch))
    struct Search {
        static let dogs: [JSON] = [
            ["id": 1, "name": "Rex", "breed": "Labrador", "age": 3, "weight": 30.5, "tags": ["good", "big"]],
            ["id": 2, "name": "Ace", "breed": "Poodle", "age": 7, "weight": 8],
            ["id": 3, "name": "Bella", "breed": "Labrador Mix", "age": 5, "weight": 25],
            ["id": 4, "name": "Max", "breed": "Beagle", "age": 10, "weight": 12, "tags": ["old"]],
            ["id": 5, "name": "Daisy", "breed": "Poodle", "age": 1, "weight": 4],
            ["id": 6, "name": "Zed", "breed": "Mutt", "age": 5, "weight": 20],
        ]

        static func cond(_ attribute: String, _ comparator: String, _ value: JSON) -> JSON {
            ["attribute": .string(attribute), "comparator": .string(comparator), "value": value]
        }

        func search(_ conditions: [JSON], _ extra: [String: JSON] = [:]) async throws -> JSON {
            let node = try TestNode.shared()
            var body: [String: JSON] = ["operation": "search_by_conditions", "database": "srch", "table": "dog",
                                        "get_attributes": ["*"], "conditions": .array(conditions)]
            for (k, v) in extra { body[k] = v }
            return try await node.ok(.object(body))
        }

        struct ComparatorCase: Sendable, CustomTestStringConvertible {
            let attribute: String, comparator: String, value: JSON, expected: [Int]
            var testDescription: String { "\(attribute) \(comparator) \(value)" }
        }

        static let comparatorCases: [ComparatorCase] = [
            .init(attribute: "breed", comparator: "equals", value: "Poodle", expected: [2, 5]),
            .init(attribute: "breed", comparator: "not_equal", value: "Poodle", expected: [1, 3, 4, 6]),
            .init(attribute: "breed", comparator: "contains", value: "rado", expected: [1, 3]),
            .init(attribute: "tags", comparator: "contains", value: "old", expected: [4]),
            // An array matches by one of its elements (Harper): found through the index and by a scan alike.
            .init(attribute: "tags", comparator: "equals", value: "big", expected: [1]),
            .init(attribute: "tags", comparator: "contains", value: "oo", expected: [1]),
            .init(attribute: "tags", comparator: "starts_with", value: "ol", expected: [4]),
            .init(attribute: "tags", comparator: "greater_than", value: "n", expected: [4]),
            .init(attribute: "tags", comparator: "not_equal", value: "big", expected: [2, 3, 4, 5, 6]),
            .init(attribute: "breed", comparator: "starts_with", value: "Lab", expected: [1, 3]),
            .init(attribute: "breed", comparator: "ends_with", value: "le", expected: [2, 4, 5]),
            .init(attribute: "age", comparator: "greater_than", value: 5, expected: [2, 4]),
            .init(attribute: "age", comparator: "greater_than_equal", value: 5, expected: [2, 3, 4, 6]),
            .init(attribute: "age", comparator: "less_than", value: 5, expected: [1, 5]),
            .init(attribute: "age", comparator: "less_than_equal", value: 5, expected: [1, 3, 5, 6]),
            .init(attribute: "age", comparator: "between", value: [3, 7], expected: [1, 2, 3, 6]),
            .init(attribute: "weight", comparator: "between", value: [8, 25], expected: [2, 3, 4, 6]),
            .init(attribute: "weight", comparator: "greater_than", value: 25, expected: [1]),
            .init(attribute: "name", comparator: "greater_than", value: "M", expected: [4, 1, 6]),
            .init(attribute: "name", comparator: "less_than", value: "Bz", expected: [2, 3]),
            .init(attribute: "id", comparator: "greater_than", value: 4, expected: [5, 6]),
            .init(attribute: "id", comparator: "equals", value: 3, expected: [3]),
            // Harper's short spellings.
            .init(attribute: "age", comparator: "eq", value: 7, expected: [2]),
            .init(attribute: "age", comparator: "gt", value: 7, expected: [4]),
            .init(attribute: "age", comparator: "lte", value: 1, expected: [5]),
            .init(attribute: "age", comparator: "ne", value: 5, expected: [1, 2, 4, 5]),
        ]

        @Test(arguments: comparatorCases)
        func comparator(_ c: ComparatorCase) async throws {
            let r = try await search([Self.cond(c.attribute, c.comparator, c.value)])
            #expect(r.ids() == c.expected.sorted())
        }

        @Test func andIsTheDefaultOperator() async throws {
            let r = try await search([Self.cond("breed", "starts_with", "Lab"), Self.cond("age", "greater_than", 3)])
            #expect(r.ids() == [3])
            let explicit = try await search([Self.cond("breed", "starts_with", "Lab"), Self.cond("age", "greater_than", 3)],
                                            ["operator": "and"])
            #expect(explicit.ids() == [3])
        }

        @Test func orOperator() async throws {
            let r = try await search([Self.cond("breed", "equals", "Beagle"), Self.cond("age", "less_than", 2)], ["operator": "or"])
            #expect(r.ids() == [4, 5])
            let upper = try await search([Self.cond("name", "equals", "Rex"), Self.cond("name", "equals", "Zed")], ["operator": "OR"])
            #expect(upper.ids() == [1, 6])
        }

        @Test func nestedGroups() async throws {
            let anyOf: JSON = ["operator": "or", "conditions": [Self.cond("breed", "equals", "Poodle"), Self.cond("breed", "equals", "Beagle")]]
            let r = try await search([Self.cond("age", "greater_than_equal", 3), anyOf])
            #expect(r.ids() == [2, 4])

            let young: JSON = ["operator": "and", "conditions": [Self.cond("breed", "equals", "Poodle"), Self.cond("age", "less_than", 3)]]
            let labs: JSON = ["operator": "and", "conditions": [Self.cond("breed", "starts_with", "Lab"), Self.cond("age", "greater_than_equal", 5)]]
            let either = try await search([young, labs], ["operator": "or"])
            #expect(either.ids() == [3, 5])

            let deep: JSON = ["operator": "and", "conditions": [
                ["operator": "or", "conditions": [Self.cond("weight", "less_than", 10), Self.cond("weight", "greater_than", 29)]],
                Self.cond("name", "not_equal", "Daisy"),
            ]]
            #expect(try await search([deep]).ids() == [1, 2])
        }

        @Test func sortOffsetLimit() async throws {
            let all = try await search([], ["sort": ["attribute": "weight"]])
            #expect(all.column("id") == [5, 2, 4, 6, 3, 1])
            let desc = try await search([], ["sort": ["attribute": "weight", "descending": true]])
            #expect(desc.column("id") == [1, 3, 6, 4, 2, 5])
            let page = try await search([], ["sort": ["attribute": "weight"], "offset": 1, "limit": 2])
            #expect(page.column("id") == [2, 4])
            let byName = try await search([Self.cond("age", "greater_than", 2)], ["sort": ["attribute": "name", "descending": true]])
            #expect(byName.column("name") == ["Zed", "Rex", "Max", "Bella", "Ace"])
            let limited = try await search([Self.cond("age", "greater_than", 0)], ["limit": 3])
            #expect(limited.count == 3)
            let offsetOnly = try await search([], ["sort": ["attribute": "weight"], "offset": 4])
            #expect(offsetOnly.column("id") == [3, 1])
            let pastEnd = try await search([], ["offset": 10])
            #expect(pastEnd == [])
            let zero = try await search([], ["limit": 0])
            #expect(zero == [])
        }

        @Test func getAttributesProjects() async throws {
            let r = try await search([Self.cond("breed", "equals", "Poodle")],
                                     ["get_attributes": ["id", "name"], "sort": ["attribute": "id"]])
            #expect(r == [["id": 2, "name": "Ace"], ["id": 5, "name": "Daisy"]])
        }

        @Test func olderFieldNames() async throws {
            // search_attribute / search_type / search_value are Harper's older spellings.
            let r = try await search([["search_attribute": "age", "search_type": "equals", "search_value": 10]])
            #expect(r.ids() == [4])
        }

        /// Every attribute is indexed, except that the primary key is searched by scanning: the
        /// same condition must give the same records either way (the storage layer promises
        /// that an index "only ever saves work and never changes a result"), also when a
        /// column mixes numbers and (numeric) strings.
        @Test func indexedRangeSearchMatchesScan() async throws {
            let node = try TestNode.shared()
            try await node.ok(["operation": "create_table", "database": "srch", "table": "mixed", "primary_key": "k"])
            _ = try await node.insert("srch", "mixed", [["k": "10", "n": "10"], ["k": 3, "n": 3], ["k": 7, "n": 7], ["k": "abc", "n": "abc"]])
            for (comparator, value) in [("greater_than", JSON(5)), ("less_than", JSON("5")), ("between", [2, 8] as JSON),
                                        ("greater_than_equal", JSON("7")), ("less_than_equal", JSON(10))] {
                func run(_ attribute: String) async throws -> Set<String> {
                    let r = try await node.ok(["operation": "search_by_conditions", "database": "srch", "table": "mixed", "get_attributes": ["k"],
                                               "conditions": [["attribute": .string(attribute), "comparator": .string(comparator), "value": value]]])
                    return Set(r.column("k").map(\.text))
                }
                let scanned = try await run("k"), indexed = try await run("n")
                #expect(scanned == indexed, "\(comparator) \(value): primary key (scan) \(scanned.sorted()) vs index \(indexed.sorted())")
            }
        }

        /// Harper validates the attributes a search names against the table (validation/searchValidator.js:
        /// "unknown attribute 'a, b and c'"; 400 for search_by_conditions, ResourceBridge.ts:63-65).
        @Test func unknownAttributeIs400() async throws {
            let node = try TestNode.shared()
            let base: [String: JSON] = ["operation": "search_by_conditions", "database": "srch", "table": "dog"]
            func with(_ extra: [String: JSON]) -> JSON { .object(base.merging(extra) { $1 }) }
            let one = try await node.fails(with(["get_attributes": ["*"], "conditions": [Self.cond("color", "equals", "brown")]]), 400)
            #expect(one == "unknown attribute 'color'")
            let three = try await node.fails(with(["get_attributes": ["id", "a", "b"], "conditions": [Self.cond("c", "equals", 1)]]), 400)
            #expect(three == "unknown attribute 'a, b and c'")
            let byID = try await node.fails(["operation": "search_by_id", "database": "srch", "table": "dog", "ids": [1],
                                             "get_attributes": ["id", "color"]], 400)
            #expect(byID == "unknown attribute 'color'")
            let byValue = try await node.fails(["operation": "search_by_value", "database": "srch", "table": "dog",
                                                "attribute": "color", "value": "x", "get_attributes": ["id"]], 400)
            #expect(byValue == "unknown attribute 'color'")
        }

        /// Harper answers every attribute asked for, null where a record lacks it
        /// (ResourceBridge.ts getSelect `forceNulls`), and `*` on a table without declared
        /// attributes as every attribute the table has.
        @Test func missingAttributesComeAsNull() async throws {
            let node = try TestNode.shared()
            let byID = try await node.ok(["operation": "search_by_id", "database": "srch", "table": "dog", "ids": [2, 4],
                                          "get_attributes": ["id", "tags"]])
            #expect(byID == [["id": 2, "tags": nil], ["id": 4, "tags": ["old"]]])
            let byHash = try await node.ok(["operation": "search_by_hash", "database": "srch", "table": "dog", "hash_values": [2],
                                            "get_attributes": ["*"]])
            #expect(byHash.arrayValue?.first?["tags"] == .null)
            #expect(byHash.arrayValue?.first?["name"] == "Ace")
            let byValue = try await node.ok(["operation": "search_by_value", "database": "srch", "table": "dog",
                                             "attribute": "breed", "value": "Beagle", "get_attributes": ["name", "tags"]])
            #expect(byValue == [["name": "Max", "tags": ["old"]]])
            let conditions = try await search([Self.cond("breed", "equals", "Poodle")], ["get_attributes": ["id", "tags"], "sort": ["attribute": "id"]])
            #expect(conditions == [["id": 2, "tags": nil], ["id": 5, "tags": nil]])
        }

        /// Harper's Table.search takes a condition without a comparator as `equals`.
        /// Harper's rule for arrays holds on every path: by value, SQL the store answers and
        /// SQL the gateway runs (LIKE), and REST.
        @Test func anArrayMatchesByOneOfItsElements() async throws {
            let node = try TestNode.shared()
            let byValue = try await node.ok(["operation": "search_by_value", "database": "srch", "table": "dog",
                                             "search_attribute": "tags", "search_value": "big", "get_attributes": ["id"]])
            #expect(byValue.ids() == [1])
            let streamed = try await node.ok(["operation": "sql", "sql": "SELECT id FROM srch.dog WHERE tags = 'big'"])
            #expect(streamed.ids() == [1])
            let evaluated = try await node.ok(["operation": "sql", "sql": "SELECT id FROM srch.dog WHERE tags = 'big' OR name LIKE 'zz%'"])
            #expect(evaluated.ids() == [1])
            let rest = try node.rest("GET", "/srch/dog/?tags=old")
            #expect(rest.status == 200 && rest.json.ids() == [4], "\(rest.status) \(rest.body)")
        }

        @Test func comparatorDefaultsToEquals() async throws {
            let r = try await search([["attribute": "breed", "value": "Poodle"]])
            #expect(r.ids() == [2, 5])
        }

        /// Harper's `sort.next`: each level orders what the one before leaves tied; paging a
        /// sorted result keeps its order.
        @Test func multiLevelSort() async throws {
            let sort: JSON = ["attribute": "age", "descending": true, "next": ["attribute": "name"]]
            let all = try await search([], ["sort": sort])
            #expect(all.column("id") == [4, 2, 3, 6, 1, 5], "age 5 ties: Bella before Zed")
            let tieDescending: JSON = ["attribute": "age", "next": ["attribute": "name", "descending": true]]
            #expect(try await search([], ["sort": tieDescending]).column("id") == [5, 1, 6, 3, 2, 4])
            let page = try await search([], ["sort": sort, "offset": 2, "limit": 2])
            #expect(page.column("id") == [3, 6])
            let node = try TestNode.shared()
            try await node.fails(["operation": "search_by_conditions", "database": "srch", "table": "dog", "conditions": [],
                                  "sort": ["attribute": "age", "next": ["descending": true]]], 400)
        }
    }
}
