import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// README's table of Harper's operations ("Harper's operations: what Skein answers")
    /// stays true: a running node answers every operation the table calls supported, and
    /// says `Operation 'x' not found` for every other one; every operation the gateway's
    /// catalog routes is in the table; the counts in the sentence above it add up.
    @Suite(.node())
    struct HarperOperationsTable {
        struct Table {
            var supported: Set<String> = []
            var unsupported: Set<String> = []
            var sentence = ""
        }

        static func readmeTable() throws -> Table {
            let path = repositoryFile("README.md")
            let readme = try String(contentsOfFile: path, encoding: .utf8)
            let section = try #require(readme.components(separatedBy: "### Harper's operations: what Skein answers").dropFirst().first)
                .components(separatedBy: "\n## ").first ?? ""
            var table = Table()
            table.sentence = section.split(separator: "\n").first { $0.contains("dispatches") }.map(String.init) ?? ""
            for line in section.split(separator: "\n") where line.hasPrefix("| ") {
                let cells = line.split(separator: "|", omittingEmptySubsequences: false)
                guard cells.count >= 3 else { continue }
                let kind = cells[1].trimmingCharacters(in: .whitespaces)
                let names = Set(Self.withoutExplanations(String(cells[2])).matches(of: #/`([a-z_0-9]+)`/#).map { String($0.output.1) })
                if kind == "supported" { table.supported.formUnion(names) } else if kind.hasPrefix("not ") { table.unsupported.formUnion(names) }
            }
            return table
        }

        /// The text without what explains an operation: a parenthesis right after its name
        /// (`create_table` (with Harper's `expiration` ...)) names no operations.
        static func withoutExplanations(_ text: String) -> String {
            var out = "", depth = 0
            for c in text {
                if depth > 0 {
                    if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
                } else if c == "(" && out.hasSuffix("` ") {
                    depth = 1
                } else {
                    out.append(c)
                }
            }
            return out
        }

        @Test func theTableMatchesWhatANodeAnswers() async throws {
            let node = try TestNode.shared()
            let table = try Self.readmeTable()
            #expect(table.supported.count > 40 && table.unsupported.count > 40, "the table was read: \(table.supported.count), \(table.unsupported.count)")
            #expect(table.supported.isDisjoint(with: table.unsupported), "\(table.supported.intersection(table.unsupported))")
            let total = table.supported.count + table.unsupported.count
            #expect(table.sentence.contains("dispatches \(total) operations") && table.sentence.contains("answers \(table.supported.count) of them"),
                    "the sentence's counts: \(table.sentence)")

            let catalog = try HostileOperationsFuzz.catalogOperations()
            #expect(catalog.subtracting(table.supported).sorted() == ["set_node"], "routed but not in the table (set_node is Skein's own)")

            // Empty requests, to this suite's own node: enough to be routed, too little to do harm.
            for op in table.supported.union(table.unsupported).sorted() {
                let r = try await node.post(["operation": .string(op)])
                let notFound = r.status == 400 && r.json["error"]?.stringValue == "Operation '\(op)' not found"
                #expect(notFound == table.unsupported.contains(op), "\(op): \(r.status) \(r.json)")
            }
        }
    }
}
