import Foundation
import SkeinCore
import Testing

/// Random SELECTs over random data, answered by Skein's `sql` and by SQLite (the `sqlite3`
/// command; `.ci/run` installs it), must give the same ids in the same order. The data keep
/// to what both agree on: every record has every attribute (no nulls), `a` and `c` hold only
/// integers and `b` and `s` only ASCII strings, and each comparison's literal is of its
/// column's type (Skein never orders across types; SQLite does). Every ORDER BY ends with
/// `id`, so the order is total. Fixed seed: a failure names the statement to replay.
enum SQLProperty {
    static let seed: UInt64 = 20_261_130
    static let records = 80
    static let queries = 300
    static let letters = Array("abAB")

    struct Row { let id: Int, a: Int, b: String, c: Int, s: String }

    static func rows(_ rng: inout FuzzRandom) -> [Row] {
        (1...records).map { id in
            Row(id: id, a: Int.random(in: 0...9, using: &rng), b: rng.pick(["x", "y", "Lab", "lab", "Poodle", "", "z"]),
                c: Int.random(in: -5...5, using: &rng), s: word(&rng, maxLength: 4))
        }
    }

    static func word(_ rng: inout FuzzRandom, maxLength: Int) -> String {
        String((0..<Int.random(in: 0...maxLength, using: &rng)).map { _ in rng.pick(letters) })
    }

    static func quoted(_ s: String) -> String { "'\(s)'" }

    /// A literal of the column's type.
    static func literal(_ column: String, _ rng: inout FuzzRandom) -> String {
        switch column {
        case "a": String(Int.random(in: -1...10, using: &rng))
        case "c": String(Int.random(in: -6...6, using: &rng))
        case "b": quoted(rng.pick(["x", "y", "Lab", "lab", "Poodle", "", "m", "Z"]))
        default: quoted(word(&rng, maxLength: 3))
        }
    }

    static func predicate(_ rng: inout FuzzRandom, depth: Int) -> String {
        let column = rng.pick(["a", "b", "c", "s", "id"]), text = column == "b" || column == "s"
        let lit = { (rng: inout FuzzRandom) in column == "id" ? String(Int.random(in: 0...records + 1, using: &rng)) : literal(column, &rng) }
        switch Int.random(in: 0..<(depth > 0 ? 11 : 8), using: &rng) {
        case 0, 1: return "\(column) \(rng.pick(["=", "!=", "<>", "<", "<=", ">", ">="])) \(lit(&rng))"
        case 2: return "\(lit(&rng)) \(rng.pick(["=", "<", ">="])) \(column)"
        case 3: return "\(column) \(rng.chance(0.3) ? "NOT " : "")BETWEEN \(lit(&rng)) AND \(lit(&rng))"
        case 4: return "\(column) \(rng.chance(0.3) ? "NOT " : "")IN (\((0..<Int.random(in: 1...4, using: &rng)).map { _ in lit(&rng) }.joined(separator: ", ")))"
        case 5:
            guard text else { return "a + c \(rng.pick(["=", "<", ">"])) \(Int.random(in: -5...15, using: &rng))" }
            let pattern = (0..<Int.random(in: 0...3, using: &rng)).map { _ in rng.pick(["%", "_", "a", "B", "ab", "L"]) }.joined()
            return "\(column) \(rng.chance(0.3) ? "NOT " : "")LIKE \(quoted(pattern))"
        case 6: return "\(column) IS \(rng.chance(0.5) ? "NOT " : "")NULL"
        case 7: return "\(column) = \(lit(&rng))"
        case 8: return "NOT (\(predicate(&rng, depth: depth - 1)))"
        default:
            return "(\(predicate(&rng, depth: depth - 1)) \(rng.pick(["AND", "OR"])) \(predicate(&rng, depth: depth - 1)))"
        }
    }

    /// `WHERE ... ORDER BY ..., id [LIMIT n [OFFSET m]]` after `SELECT id FROM table`.
    static func clauses(_ rng: inout FuzzRandom) -> String {
        var sql = ""
        if rng.chance(0.9) {
            sql += " WHERE \(predicate(&rng, depth: 2))"
            if rng.chance(0.4) { sql += " AND \(predicate(&rng, depth: 1))" }
        }
        let keys = (0..<Int.random(in: 0...2, using: &rng)).map { _ in "\(rng.pick(["a", "b", "c", "s"]))\(rng.pick(["", " ASC", " DESC"]))" }
        sql += " ORDER BY " + (keys + ["id\(rng.pick(["", " DESC"]))"]).joined(separator: ", ")
        if rng.chance(0.5) {
            sql += " LIMIT \(Int.random(in: 0...20, using: &rng))"
            if rng.chance(0.5) { sql += " OFFSET \(Int.random(in: 0...30, using: &rng))" }
        }
        return sql
    }

    /// SQLite's answer to each query (ids in order), from one `sqlite3` run.
    static func sqlite(_ rows: [Row], _ queries: [String]) throws -> [[Int]] {
        var script = "CREATE TABLE prop (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c INTEGER, s TEXT);\n"
        for r in rows { script += "INSERT INTO prop VALUES (\(r.id), \(r.a), \(quoted(r.b)), \(r.c), \(quoted(r.s)));\n" }
        for q in queries { script += "SELECT id FROM prop\(q);\nSELECT '#';\n" }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skein-sqlprop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.sql"), output = dir.appendingPathComponent("out.txt")
        try script.write(to: input, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", "-batch", "-bail", ":memory:"]
        p.standardInput = try FileHandle(forReadingFrom: input)
        p.standardOutput = try FileHandle(forWritingTo: output)
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "sqlite3 failed (status \(p.terminationStatus)); install it: apt-get install sqlite3")
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var answers: [[Int]] = [], current: [Int] = []
        for line in lines where !line.isEmpty {
            if line == "#" {
                answers.append(current)
                current = []
            } else {
                current.append(try #require(Int(line), "sqlite3 printed \(line)"))
            }
        }
        return answers
    }
}

@Sendable func seedSQLProperty(_ node: TestNode) async throws {
    try await node.ok(["operation": "create_table", "database": "sqp", "table": "prop", "primary_key": "id"])
}

extension ProcessTests {
    @Suite(.node(setup: seedSQLProperty))
    struct SQLPropertyVsSQLite {
        @Test func randomSelectsAgreeWithSQLite() async throws {
            let node = try TestNode.shared()
            var rng = FuzzRandom(seed: SQLProperty.seed)
            let rows = SQLProperty.rows(&rng)
            _ = try await node.insert("sqp", "prop", rows.map { ["id": JSON($0.id), "a": JSON($0.a), "b": JSON($0.b), "c": JSON($0.c), "s": JSON($0.s)] })
            let queries = (0..<SQLProperty.queries).map { _ in SQLProperty.clauses(&rng) }
            let expected = try SQLProperty.sqlite(rows, queries)
            try #require(expected.count == queries.count)
            // Not a vacuous comparison: most statements find something.
            #expect(expected.filter { !$0.isEmpty }.count > queries.count / 2)
            var failures = 0
            for (query, want) in zip(queries, expected) {
                let statement = "SELECT id FROM sqp.prop\(query)"
                let (status, json) = try await node.post(["operation": "sql", "sql": .string(statement)])
                let got = json.arrayValue?.compactMap { $0["id"]?.intValue }
                if status != 200 || got != want {
                    failures += 1
                    Issue.record("\(statement)\n  skein (\(status)): \(got.map { "\($0)" } ?? "\(json)")\n  sqlite: \(want)")
                    if failures >= 5 { return }
                }
            }
        }
    }
}
