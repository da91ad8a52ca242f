import SkeinCore
import Testing

extension ProcessTests {
    /// What Harper 4.7.2 accepts for attribute paths in `search_by_conditions` and
    /// `search_by_value`: a one-step path array (`["name"]`) is the attribute; a longer path
    /// is a relationship join, which Skein's tables never have (400 as Harper); a sort by a
    /// longer path is 404 (no declared properties); `get_attributes` entries
    /// `{name, select}` narrow an object attribute to some of its properties.
    @Suite(.node(setup: { node in
        try await node.freshTable("paths", "pet")
        _ = try await node.insert("paths", "pet", [
            ["id": 1, "name": "Rex", "age": 3, "owner": ["name": "Kim", "city": "Oslo", "zip": "0150"]],
            ["id": 2, "name": "Ace", "age": 7, "owner": ["name": "Lee", "city": "Rome"]],
            ["id": 3, "name": "Bo", "age": 5, "vets": [["name": "Dr. A", "city": "Oslo"], ["name": "Dr. B"]]],
        ])
    }))
    struct SearchPaths {

        func conditions(_ conditions: [JSON], _ extra: [String: JSON] = [:]) -> JSON {
            var body: [String: JSON] = ["operation": "search_by_conditions", "database": "paths", "table": "pet",
                                        "conditions": .array(conditions)]
            for (k, v) in extra { body[k] = v }
            return .object(body)
        }

        @Test func aOneStepPathIsTheAttribute() async throws {
            let node = try TestNode.shared()
            let path = try await node.ok(conditions([["search_attribute": ["name"], "search_value": "Ace"]]))
            #expect(path.ids() == [2], "\(path)")
            let either = try await node.ok(conditions([["attribute": ["age"], "comparator": "greater_than", "value": 4]],
                                                      ["sort": ["attribute": ["age"], "descending": true]]))
            #expect(either.column("id") == [2, 3], "sorted by a one-step path: \(either)")
            let grouped = try await node.ok(conditions([["operator": "or", "conditions": [["attribute": ["name"], "value": "Rex"],
                                                                                        ["attribute": "name", "value": "Bo"]]]]))
            #expect(grouped.ids() == [1, 3], "\(grouped)")
            let byValue = try await node.ok(["operation": "search_by_value", "database": "paths", "table": "pet",
                                             "search_attribute": ["name"], "search_value": "B*", "get_attributes": ["id"]])
            #expect(byValue == [["id": 3]], "\(byValue)")
            try await node.fails(["operation": "search_by_value", "database": "paths", "table": "pet", "search_attribute": ["owner", "city"],
                                  "search_value": "Oslo"], 400)
        }

        /// Harper's `select` stands for `get_attributes` in every search, and wins over it.
        @Test func selectIsGetAttributes() async throws {
            let node = try TestNode.shared()
            let byID = try await node.ok(["operation": "search_by_id", "database": "paths", "table": "pet", "ids": [2], "select": ["name", "vets"]])
            #expect(byID == [["name": "Ace", "vets": nil]], "\(byID)")
            let both = try await node.ok(conditions([["attribute": "id", "value": 1]], ["select": [["name": "owner", "select": "city"]], "get_attributes": ["*"]]))
            #expect(both == [["owner": "Oslo"]], "\(both)")
        }

        @Test func longerPathsAreRefusedAsHarperDoes() async throws {
            let node = try TestNode.shared()
            let join = try await node.fails(conditions([["attribute": ["owner", "city"], "value": "Oslo"]]), 400)
            #expect(join == #"Unable to query by attribute ["owner","city"]"#)
            try await node.fails(conditions([["attribute": [], "value": "Oslo"]]), 400)
            try await node.fails(conditions([["attribute": [5], "value": "Oslo"]]), 400)
            // A dotted name is a plain name to Harper's operations API: this table has none such.
            #expect(try await node.fails(conditions([["attribute": "owner.city", "value": "Oslo"]]), 400) == "unknown attribute 'owner.city'")
            let sort = try await node.fails(conditions([["attribute": "id", "comparator": "greater_than", "value": 0]],
                                                       ["sort": ["attribute": ["owner", "city"]]]), 404)
            #expect(sort == "owner.city is not a defined attribute")
        }

        @Test func nestedSelectsNarrowObjectAttributes() async throws {
            let node = try TestNode.shared()
            let select: JSON = ["id", ["name": "owner", "select": ["city", "zip"]], ["name": "vets", "select": ["name"]]]
            let r = try await node.ok(conditions([["attribute": "id", "comparator": "greater_than", "value": 0]], ["get_attributes": select]))
            let byID = Dictionary(uniqueKeysWithValues: (r.arrayValue ?? []).map { ($0["id"]?.intValue ?? 0, $0) })
            #expect(byID[1] == ["id": 1, "owner": ["city": "Oslo", "zip": "0150"], "vets": nil], "\(r)")
            #expect(byID[2] == ["id": 2, "owner": ["city": "Rome"], "vets": nil], "a property the object lacks is left out: \(r)")
            #expect(byID[3] == ["id": 3, "owner": nil, "vets": [["name": "Dr. A"], ["name": "Dr. B"]]], "\(r)")

            // One property by name stands for its value; search_by_value takes the same list.
            let one = try await node.ok(["operation": "search_by_value", "database": "paths", "table": "pet", "search_attribute": "name",
                                         "search_value": "Rex", "get_attributes": ["name", ["name": "owner", "select": "city"]]])
            #expect(one == [["name": "Rex", "owner": "Oslo"]], "\(one)")

            // search_by_id reads names only, as Harper's validator (strings or numbers).
            let byId = try await node.post(["operation": "search_by_id", "database": "paths", "table": "pet", "ids": [1],
                                            "get_attributes": [["name": "owner", "select": ["city"]]]])
            #expect(byId.status == 400, "\(byId)")
            try await node.fails(conditions([["attribute": "id", "value": 1]], ["get_attributes": [["select": ["city"]]]]), 400)
            try await node.fails(conditions([["attribute": "id", "value": 1]], ["get_attributes": [["name": "owner"]]]), 400)
        }

        /// The path form and nested selects name attributes too: a role's attribute
        /// permissions see through them.
        @Test func pathsAndNestedSelectsAreCheckedAgainstAttributePermissions() async throws {
            let node = try TestNode.shared()
            try await node.ok(["operation": "add_role", "role": "pet_viewer", "permission": [
                "paths": ["tables": ["pet": [
                    "read": true, "insert": false, "update": false, "delete": false,
                    "attribute_permissions": [["attribute_name": "name", "read": true, "insert": false, "update": false]],
                ]]],
            ]])
            try await node.ok(["operation": "add_user", "username": "petviewer", "password": "pw-petviewer", "role": "pet_viewer", "active": true])
            func asViewer(_ body: JSON) async throws -> (status: Int, json: JSON) {
                try await node.post(body, user: "petviewer", password: "pw-petviewer")
            }
            let allowed = try await asViewer(conditions([["attribute": ["name"], "value": "Rex"]], ["get_attributes": ["id", "name"]]))
            #expect(allowed.status == 200 && allowed.json == [["id": 1, "name": "Rex"]], "\(allowed)")
            let cases: [(String, JSON)] = [
                ("a nested select of a hidden attribute",
                 conditions([["attribute": "name", "value": "Rex"]], ["get_attributes": ["name", ["name": "owner", "select": ["city"]]]])),
                ("a path to a hidden attribute", conditions([["attribute": ["age"], "comparator": "greater_than", "value": 4]], ["get_attributes": ["name"]])),
                ("a hidden search_attribute beside a visible attribute",
                 conditions([["attribute": "name", "search_attribute": "age", "value": "Rex"]], ["get_attributes": ["name"]])),
                ("a sort by a hidden attribute", conditions([["attribute": "name", "comparator": "greater_than", "value": "A"]],
                                                            ["get_attributes": ["name"], "sort": ["attribute": "name", "next": ["attribute": ["age"]]]])),
                ("a select of a hidden attribute beside a visible get_attributes",
                 conditions([["attribute": "name", "value": "Rex"]], ["get_attributes": ["name"], "select": ["age"]])),
                ("a search_by_value path to a hidden attribute",
                 ["operation": "search_by_value", "database": "paths", "table": "pet", "search_attribute": ["age"], "search_value": 3, "get_attributes": ["name"]]),
            ]
            for (what, body) in cases {
                let r = try await asViewer(body)
                #expect(r.status == 403 && r.json["invalid_schema_items"]?.arrayValue?.isEmpty == false, "\(what): \(r)")
            }
            // `*` in `select` is what the role may read, as in `get_attributes`.
            let star = try await asViewer(["operation": "search_by_id", "database": "paths", "table": "pet", "ids": [1], "select": ["*"]])
            #expect(star.status == 200 && star.json == [["id": 1, "name": "Rex"]], "\(star)")
        }
    }

    /// `contains` and `ends_with` read a number or boolean field as its text, as Harper's
    /// filters do (`recordValue?.toString().includes(value)`); `starts_with` matches strings
    /// only (Harper's `typeof recordValue === 'string'`, and its index range of strings).
    @Suite(.node())
    struct NumericTextComparators {
        @Test func containsAndEndsWithReadNumbersAsText() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("numtext", "item")
            _ = try await node.insert("numtext", "item", [
                ["id": 1, "code": 1250, "price": 12.5, "flag": true],
                ["id": 2, "code": 300, "price": 7, "flag": false],
                ["id": 3, "code": "1250x", "price": "12.50"],
                ["id": 4, "code": [125, 9], "price": nil],
            ])
            func search(_ attribute: String, _ comparator: String, _ value: JSON) async throws -> [Int] {
                try await node.ok(["operation": "search_by_conditions", "database": "numtext", "table": "item",
                                   "conditions": [["attribute": .string(attribute), "comparator": .string(comparator), "value": value]]]).ids()
            }
            #expect(try await search("code", "contains", 25) == [1, 3, 4], "a number value is its text; an element of an array may match")
            #expect(try await search("code", "contains", "25") == [1, 3, 4])
            #expect(try await search("code", "ends_with", 50) == [1])
            #expect(try await search("code", "ends_with", "25") == [4])
            #expect(try await search("code", "starts_with", "12") == [3], "starts_with: string fields only (and through the index)")
            #expect(try await search("price", "contains", ".5") == [1, 3])
            #expect(try await search("price", "ends_with", 7) == [2])
            #expect(try await search("flag", "contains", "ru") == [1])
            #expect(try await search("flag", "ends_with", "lse") == [2])
            #expect(try await search("price", "contains", "null") == [], "null is no text")
            let wildcard = try await node.ok(["operation": "search_by_value", "database": "numtext", "table": "item",
                                              "search_attribute": "code", "search_value": "*30*"])
            #expect(wildcard.ids() == [2], "search_by_value's wildcards are contains: \(wildcard)")
        }
    }
}
