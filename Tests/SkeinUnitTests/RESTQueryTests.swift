import Testing
@testable import SkeinCore

@Suite("REST query parser")
struct RESTQueryTests {
    func parse(_ q: String) throws(SkeinError) -> RESTQuery { try RESTQuery(parsing: q) }

    /// The 400's message, which must name the position.
    func failure(_ q: String) -> String? {
        do {
            _ = try parse(q)
            return nil
        } catch {
            #expect(error.status == 400)
            return error.message
        }
    }

    @Test func emptyQueryMatchesEverything() throws {
        #expect(try parse("") == RESTQuery())
    }

    @Test func strictEqualsKeepsTheText() throws {
        #expect(try parse("breed=Poodle").condition == .group(.and, [.leaf(attribute: "breed", comparator: .equals, value: "Poodle")]))
        #expect(try parse("age=5").condition == .group(.and, [.leaf(attribute: "age", comparator: .equals, value: "5")]))
        #expect(try parse("name=").condition == .group(.and, [.leaf(attribute: "name", comparator: .equals, value: "")]))
    }

    @Test(arguments: [
        ("age=gt=5", SearchCondition.Comparator.greater_than, JSON(5)), ("age=ge=5", .greater_than_equal, 5), ("age=gte=5", .greater_than_equal, 5),
        ("age=lt=5", .less_than, 5), ("age=le=5", .less_than_equal, 5), ("age=lte=5", .less_than_equal, 5),
        ("age=ne=5", .not_equal, "5"), ("age=eq=5", .equals, "5"), ("age=sw=La", .starts_with, "La"), ("age=ew=le", .ends_with, "le"),
        ("age=ct=ad", .contains, "ad"), ("age=starts_with=La", .starts_with, "La"), ("age=greater_than=2.5", .greater_than, 2.5),
        ("age>5", .greater_than, 5), ("age>=5", .greater_than_equal, 5), ("age<5", .less_than, 5), ("age<=5", .less_than_equal, 5),
        ("age!=5", .not_equal, "5"), ("age==5", .equals, "5"), ("name=gt=M", .greater_than, "M"),
        ("age=gt=number:5", .greater_than, 5), ("age=ne=null", .not_equal, .null), ("flag=eq=boolean:true", .equals, true),
        ("code=lt=string:10", .less_than, "10"),
    ])
    func comparators(query: String, comparator: SearchCondition.Comparator, value: JSON) throws {
        let attribute = String(query.prefix { $0.isLetter })
        #expect(try parse(query).condition == .group(.and, [.leaf(attribute: attribute, comparator: comparator, value: value)]))
    }

    @Test func wildcardEndsAStartsWith() throws {
        #expect(try parse("breed==Lab*").condition == .group(.and, [.leaf(attribute: "breed", comparator: .starts_with, value: "Lab")]))
        #expect(failure("breed==L*b")?.contains("wildcard") == true)
    }

    @Test func andOrAndGroups() throws {
        let a = SearchCondition.leaf(attribute: "a", comparator: .equals, value: "1")
        let b = SearchCondition.leaf(attribute: "b", comparator: .equals, value: "2")
        let c = SearchCondition.leaf(attribute: "c", comparator: .equals, value: "3")
        #expect(try parse("a=1&b=2").condition == .group(.and, [a, b]))
        #expect(try parse("a=1|b=2").condition == .group(.or, [a, b]))
        #expect(try parse("a=1&(b=2|c=3)").condition == .group(.and, [a, .group(.or, [b, c])]))
        #expect(try parse("(a=1)").condition == .group(.and, [a]))
        #expect(try parse("(a=1|b=2)&c=3").condition == .group(.and, [.group(.or, [a, b]), c]))
    }

    @Test func percentDecoding() throws {
        #expect(try parse("na%20me=a%26b%7Cc").condition == .group(.and, [.leaf(attribute: "na me", comparator: .equals, value: "a&b|c")]))
        #expect(try parse("n=caf%C3%A9+x").condition == .group(.and, [.leaf(attribute: "n", comparator: .equals, value: "café+x")]))
    }

    @Test func functions() throws {
        let q = try parse("breed=Poodle&select(id,name)&sort(-age)&limit(10)")
        #expect(q.select == ["id", "name"])
        #expect(q.sort == .init(attribute: "age", descending: true))
        #expect(q.limit == 10 && q.offset == nil)
        #expect(try parse("sort(+name)").sort == .init(attribute: "name", descending: false))
        #expect(try parse("sort(name)").sort == .init(attribute: "name", descending: false))
        let page = try parse("limit(5,15)")
        #expect(page.offset == 5 && page.limit == 10)
        #expect(try parse("select(id)").condition == .group(.and, []))
    }

    @Test func searchBody() throws {
        let body = try parse("age=gt=3|breed=Poodle&select(id)&sort(-age)&limit(2,4)").searchBody(database: "d", table: "t")
        #expect(body["operator"] == "or")
        #expect(body["conditions"]?.arrayValue?.count == 2)
        #expect(body["conditions"]?.arrayValue?.first == ["attribute": "age", "comparator": "greater_than", "value": 3])
        #expect(body["get_attributes"] == ["id"])
        #expect(body["offset"] == 2 && body["limit"] == 2)
        #expect(body["sort"] == ["attribute": "age", "descending": true])
        #expect(try SearchCondition.parse(["conditions": body["conditions"]!, "operator": "or"]) == (try parse("age=gt=3|breed=Poodle")).condition)
    }

    @Test(arguments: [
        ("a=1&b=2|c=3", "cannot mix '&' and '|' in one group (use parentheses) at position 7"),
        ("a=1&", "expected an attribute, '(' or a function, found end of query at position 4"),
        ("=1", "expected an attribute, '(' or a function, found '=' at position 0"),
        ("a", "expected a comparison after 'a', found end of query at position 1"),
        ("a=1)", "expected '&', '|' or end of query, found ')' at position 3"),
        ("(a=1", "expected '&', '|' or ')', found end of query at position 4"),
        ("()", "expected an attribute, '(' or a function, found ')' at position 1"),
        ("a=zz=1", "unknown comparator 'zz'"),
        ("a!1", "'!' must be followed by '=' at position 1"),
        ("a=%zz", "invalid percent-encoding in '%zz' at position 2"),
        ("limit(x)", "limit() takes whole numbers, not 'x' at position 6"),
        ("limit(1,2,3)", "limit() takes 1 or 2 arguments at position 0"),
        ("limit(5,2)", "limit(start,end) needs end ≥ start at position 0"),
        ("sort(a,b)", "sort() takes one attribute"),
        ("select()", "select() needs at least one attribute at position 0"),
        ("select(a", "expected ',' or ')' in select(), found end of query at position 8"),
        ("group(a)", "unknown function 'group()' (use select, limit or sort) at position 0"),
        ("a=1&(select(a))", "select() is only allowed at the top level at position 5"),
        ("a=gt=number:x", "'x' is not a number at position 5"),
        ("limit(1)&limit(2)", "limit() given twice at position 9"),
    ])
    func malformed(query: String, message: String) {
        let error = failure(query)
        #expect(error?.contains(message) == true, "\(query): \(error ?? "parsed")")
        #expect(error?.contains("in '\(query)'") == true)
    }
}

@Suite("REST paths and exports")
struct RESTPathTests {
    @Test func readings() throws {
        #expect(RESTPath("/Dog/")?.candidates == [.init(database: "data", table: "Dog", id: nil)])
        #expect(RESTPath("/Dog")?.candidates == [.init(database: "data", table: "Dog", id: nil)])
        #expect(RESTPath("/Dog/7")?.candidates == [.init(database: "data", table: "Dog", id: "7"), .init(database: "Dog", table: "7", id: nil)])
        #expect(RESTPath("/dev/Dog/a%20b")?.candidates == [.init(database: "dev", table: "Dog", id: "a b")])
        #expect(RESTPath("/") == nil)
        #expect(RESTPath("/a//b") == nil)
        #expect(RESTPath("/a/b/c/d")?.candidates == [])
    }

    @Test func ids() {
        #expect(RESTPath.id("7") == 7)
        #expect(RESTPath.id("07") == "07")
        #expect(RESTPath.id("7.5") == 7.5)
        #expect(RESTPath.id("abc") == "abc")
        #expect(RESTPath.alternatives("7") == [7, "7"])
        #expect(RESTPath.alternatives("x") == ["x"])
        #expect(RESTPath.encoded("a b/é") == "a%20b%2F%C3%A9")
    }

    @Test func exports() {
        #expect(RESTExports.all.exports(database: "data", table: "x"))
        #expect(!RESTExports.all.exports(database: "system", table: "hdb_user"))
        #expect(RESTExports(list: ["*"]).exports(database: "dev", table: "x"))
        let some = RESTExports(list: ["Dog", "dev.Cat"])
        #expect(some.exports(database: "data", table: "Dog"))
        #expect(some.exports(database: "dev", table: "Cat"))
        #expect(!some.exports(database: "dev", table: "Dog"))
        #expect(!some.exports(database: "data", table: "Cat"))
    }
}

@Suite("CSV writer")
struct CSVWriterTests {
    @Test func quotesPerRFC4180() {
        let records: [JSON] = [["id": 1, "name": "plain", "note": "a,b"], ["id": 2, "name": "say \"hi\"", "note": "line1\nline2", "tags": ["x"]]]
        let columns = CSVWriter.columns(of: records)
        #expect(columns == ["id", "name", "note", "tags"])
        let text = CSVWriter.header(columns) + CSVWriter.rows(records, columns: columns)
        #expect(text == "id,name,note,tags\r\n1,plain,\"a,b\",\r\n2,\"say \"\"hi\"\"\",\"line1\nline2\",\"[\"\"x\"\"]\"\r\n")
    }

    @Test func nullsAndMissingAreEmpty() {
        #expect(CSVWriter.row(["a": .null, "b": true, "c": 2.5], columns: ["a", "b", "c", "d"]) == ",true,2.5,\r\n")
        #expect(CSVWriter.header(["has space", "x\ry"]) == "has space,\"x\ry\"\r\n")
    }
}
