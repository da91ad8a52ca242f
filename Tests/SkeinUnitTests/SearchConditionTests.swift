import Testing
@testable import SkeinCore

@Suite("Search conditions")
struct SearchConditionTests {
    // MARK: Parsing

    @Test func parsesLeaf() throws {
        let c = try SearchCondition.parse(["attribute": "age", "comparator": "greater_than", "value": 3])
        #expect(c == .leaf(attribute: "age", comparator: .greater_than, value: 3))
    }

    /// Harper's path form: a one-step path is the attribute.
    @Test func parsesAOneStepPath() throws {
        let c = try SearchCondition.parse(["search_attribute": ["name"], "search_value": "Ha"])
        #expect(c == .leaf(attribute: "name", comparator: .equals, value: "Ha"))
    }

    @Test func parsesHarperAliases() throws {
        let c = try SearchCondition.parse(["search_attribute": "name", "search_type": "starts_with", "search_value": "Ha"])
        #expect(c == .leaf(attribute: "name", comparator: .starts_with, value: "Ha"))
    }

    @Test(arguments: [
        ("eq", SearchCondition.Comparator.equals), ("ne", .not_equal), ("gt", .greater_than), ("ge", .greater_than_equal),
        ("gte", .greater_than_equal), ("lt", .less_than), ("le", .less_than_equal), ("lte", .less_than_equal),
        ("equals", .equals), ("contains", .contains), ("ends_with", .ends_with), ("between", .between),
    ])
    func comparatorNames(name: String, comparator: SearchCondition.Comparator) throws {
        #expect(SearchCondition.Comparator.named(name) == comparator)
        let value: JSON = comparator == .between ? [1, 2] : 1
        let c = try SearchCondition.parse(["attribute": "a", "comparator": .string(name), "value": value])
        #expect(c == .leaf(attribute: "a", comparator: comparator, value: value))
    }

    @Test func parsesNestedGroups() throws {
        let json: JSON = [
            "operator": "or",
            "conditions": [
                ["attribute": "a", "comparator": "equals", "value": 1],
                ["operator": "AND", "conditions": [
                    ["attribute": "b", "comparator": "lt", "value": 5],
                    ["attribute": "c", "comparator": "between", "value": [1, 9]],
                ]],
                ["conditions": []],
            ],
        ]
        let c = try SearchCondition.parse(json)
        #expect(c == .group(.or, [
            .leaf(attribute: "a", comparator: .equals, value: 1),
            .group(.and, [
                .leaf(attribute: "b", comparator: .less_than, value: 5),
                .leaf(attribute: "c", comparator: .between, value: [1, 9]),
            ]),
            .group(.and, []),
        ]))
    }

    @Test(arguments: [
        ("unknown comparator", ["attribute": "a", "comparator": "like", "value": 1], "unknown comparator 'like'"),
        ("between with one value", ["attribute": "a", "comparator": "between", "value": [1]], "between"),
        ("between with three values", ["attribute": "a", "comparator": "between", "value": [1, 2, 3]], "between"),
        ("between with a scalar", ["attribute": "a", "comparator": "between", "value": 1], "between"),
        ("non-object", "a = 1", "must be objects"),
        ("array", [1, 2], "must be objects"),
        ("missing attribute", ["comparator": "equals", "value": 1], "attribute"),
        ("empty path", ["attribute": [], "value": 1], "attribute"),
        ("path through no relationship", ["attribute": ["owner", "name"], "value": 1], #"Unable to query by attribute ["owner","name"]"#),
        ("path of a number", ["attribute": [5], "value": 1], "attribute"),
        ("empty attribute", ["attribute": "", "comparator": "equals", "value": 1], "attribute"),
        ("comparator not a string", ["attribute": "a", "comparator": 5, "value": 1], "comparator"),
        ("missing value", ["attribute": "a", "comparator": "equals"], "value"),
        ("conditions not an array", ["conditions": ["attribute": "a"]], "must be an array"),
        ("bad operator", ["operator": "xor", "conditions": []], "operator"),
        ("bad nested entry", ["conditions": [["attribute": "a", "comparator": "equals", "value": 1], 5]], "conditions[1]"),
    ] as [(String, JSON, String)])
    func parseErrors(name: String, json: JSON, fragment: String) {
        do {
            let c = try SearchCondition.parse(json)
            Issue.record("\(name): expected an error, got \(c)")
        } catch {
            #expect(error.status == 400, "\(name)")
            #expect(error.message.contains(fragment), "\(name): \(error.message)")
        }
    }

    // MARK: Matching

    static let record: [String: JSON] = [
        "id": 1, "name": "Harper", "age": 7, "weight": 12.5, "tags": ["good", "dog", 3], "code": "42",
        "nothing": nil, "alive": true,
    ]

    static func matches(_ attribute: String, _ comparator: SearchCondition.Comparator, _ value: JSON) -> Bool {
        SearchCondition.leaf(attribute: attribute, comparator: comparator, value: value).matches(record)
    }

    @Test func equalsAndNotEqual() {
        #expect(Self.matches("name", .equals, "Harper"))
        #expect(!Self.matches("name", .equals, "harper"))
        #expect(Self.matches("age", .equals, 7))
        #expect(Self.matches("alive", .equals, true))
        #expect(Self.matches("nothing", .equals, nil))
        #expect(Self.matches("missing", .equals, nil))
        #expect(Self.matches("tags", .equals, ["good", "dog", 3]))
        #expect(Self.matches("name", .not_equal, "Bob"))
        #expect(!Self.matches("name", .not_equal, "Harper"))
        #expect(Self.matches("missing", .not_equal, 1))
    }

    @Test func looseEqualityOfNumericStrings() {
        #expect(Self.matches("age", .equals, "7"))
        #expect(Self.matches("code", .equals, 42))
        #expect(!Self.matches("age", .equals, "7.0")) // only the exact text of the number
        #expect(!Self.matches("age", .equals, "seven"))
        #expect(!Self.matches("age", .not_equal, "7"))
        #expect(SearchCondition.looselyEqual("1", 1))
        #expect(SearchCondition.looselyEqual(1, "1"))
        #expect(!SearchCondition.looselyEqual(true, 1))
        #expect(!SearchCondition.looselyEqual(nil, 0))
    }

    @Test func containsOnStringsNumbersAndArrays() {
        #expect(Self.matches("name", .contains, "arp"))
        #expect(!Self.matches("name", .contains, "xyz"))
        #expect(Self.matches("tags", .contains, "dog"))
        #expect(Self.matches("tags", .contains, "3")) // loose equality inside arrays
        #expect(Self.matches("tags", .contains, "do")) // an element contains it (Harper)
        #expect(!Self.matches("tags", .contains, "bad"))
        // Harper's `recordValue?.toString().includes(value)`: numbers and booleans by their text.
        #expect(Self.matches("weight", .contains, ".5"))
        #expect(Self.matches("age", .contains, 7))
        #expect(Self.matches("alive", .contains, "ru"))
        #expect(!Self.matches("weight", .contains, "3"))
        #expect(!Self.matches("nothing", .contains, "null"))
        #expect(!Self.matches("missing", .contains, "a"))
    }

    @Test func startsAndEndsWith() {
        #expect(Self.matches("name", .starts_with, "Har"))
        #expect(!Self.matches("name", .starts_with, "arp"))
        #expect(Self.matches("name", .ends_with, "per"))
        #expect(!Self.matches("name", .ends_with, "Har"))
        #expect(!Self.matches("weight", .starts_with, "12")) // Harper: strings only
        #expect(Self.matches("weight", .ends_with, ".5")) // Harper: `toString().endsWith`
        #expect(Self.matches("age", .ends_with, 7))
        #expect(Self.matches("alive", .ends_with, "ue"))
        #expect(!Self.matches("weight", .ends_with, 12))
        #expect(Self.matches("name", .ends_with, "per"))
        #expect(!Self.matches("missing", .starts_with, ""))
    }

    @Test func orderingComparators() {
        #expect(Self.matches("age", .greater_than, 6))
        #expect(!Self.matches("age", .greater_than, 7))
        #expect(Self.matches("age", .greater_than_equal, 7))
        #expect(!Self.matches("age", .greater_than_equal, 8))
        #expect(Self.matches("age", .less_than, 8))
        #expect(!Self.matches("age", .less_than, 7))
        #expect(Self.matches("age", .less_than_equal, 7))
        #expect(!Self.matches("age", .less_than_equal, 6.99))
        #expect(Self.matches("name", .greater_than, "Alice"))
        #expect(Self.matches("name", .less_than, "Zed"))
        // Ranges compare within one kind, like the index: a numeric string is a string.
        #expect(!Self.matches("code", .greater_than, 5))
        #expect(!Self.matches("age", .less_than, "10"))
        // Incomparable kinds never match.
        #expect(!Self.matches("name", .greater_than, 1))
        #expect(!Self.matches("missing", .less_than, 1))
        #expect(!Self.matches("alive", .greater_than_equal, false))
        // An array matches by one of its elements (Harper): 3 > 0, none above 3.
        #expect(Self.matches("tags", .greater_than, 0))
        #expect(!Self.matches("tags", .greater_than, 3))
    }

    @Test func between() {
        #expect(Self.matches("age", .between, [1, 10]))
        #expect(Self.matches("age", .between, [7, 7]))
        #expect(Self.matches("age", .between, [7, 8]))
        #expect(Self.matches("age", .between, [6, 7]))
        #expect(!Self.matches("age", .between, [8, 10]))
        #expect(!Self.matches("age", .between, [10, 1]))
        #expect(Self.matches("name", .between, ["A", "I"]))
        #expect(!Self.matches("name", .between, ["I", "Z"]))
        #expect(!Self.matches("weight", .between, ["12", "13"]))
        #expect(!Self.matches("age", .between, 7))
        #expect(!Self.matches("missing", .between, [0, 100]))
    }

    @Test func groups() {
        let yes = SearchCondition.leaf(attribute: "age", comparator: .equals, value: 7)
        let no = SearchCondition.leaf(attribute: "age", comparator: .equals, value: 8)
        #expect(SearchCondition.group(.and, [yes, yes]).matches(Self.record))
        #expect(!SearchCondition.group(.and, [yes, no]).matches(Self.record))
        #expect(SearchCondition.group(.or, [no, yes]).matches(Self.record))
        #expect(!SearchCondition.group(.or, [no, no]).matches(Self.record))
        #expect(SearchCondition.group(.and, []).matches(Self.record))
        #expect(SearchCondition.group(.or, []).matches(Self.record))
        #expect(SearchCondition.group(.or, [no, .group(.and, [yes, yes])]).matches(Self.record))
    }

    @Test func order() {
        #expect(SearchCondition.order(1, 2) == -1)
        #expect(SearchCondition.order("b", "a") == 1)
        #expect(SearchCondition.order(3, "3") == nil)
        #expect(SearchCondition.order("x", 3) == nil)
        #expect(SearchCondition.order(nil, nil) == nil)
        #expect(SearchCondition.order(true, false) == nil)
    }

    // MARK: search_by_value

    @Test func byValueWildcards() {
        #expect(SearchCondition.byValue(attribute: "n", value: "Har*") == .leaf(attribute: "n", comparator: .starts_with, value: "Har"))
        #expect(SearchCondition.byValue(attribute: "n", value: "*per") == .leaf(attribute: "n", comparator: .ends_with, value: "per"))
        #expect(SearchCondition.byValue(attribute: "n", value: "*arp*") == .leaf(attribute: "n", comparator: .contains, value: "arp"))
        #expect(SearchCondition.byValue(attribute: "n", value: "*") == .group(.and, []))
        #expect(SearchCondition.byValue(attribute: "n", value: "**") == .group(.and, []))
        #expect(SearchCondition.byValue(attribute: "n", value: "a*b") == .leaf(attribute: "n", comparator: .equals, value: "a*b"))
        #expect(SearchCondition.byValue(attribute: "n", value: "Harper") == .leaf(attribute: "n", comparator: .equals, value: "Harper"))
        #expect(SearchCondition.byValue(attribute: "n", value: 5) == .leaf(attribute: "n", comparator: .equals, value: 5))
        #expect(SearchCondition.byValue(attribute: "name", value: "*").matches(Self.record))
        #expect(SearchCondition.byValue(attribute: "name", value: "H*").matches(Self.record))
        #expect(!SearchCondition.byValue(attribute: "name", value: "*H").matches(Self.record))
    }
}
