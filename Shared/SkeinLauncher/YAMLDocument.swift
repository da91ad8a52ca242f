import SkeinCore

/// Nested block YAML from dotted keys (`replication.routes` → `replication:` / `  routes:`),
/// keys sorted. Scalars and lists are written as JSON, which YAML reads as double-quoted
/// strings, plain numbers and flow collections: the node config loader takes all of them.
public enum YAMLDocument {
    public static func render(_ values: [String: JSON]) -> String {
        final class Branch { var children: [String: Branch] = [:]; var value: JSON? }
        let top = Branch()
        for (key, value) in values {
            var branch = top
            for part in key.split(separator: ".").map(String.init) {
                if branch.children[part] == nil { branch.children[part] = Branch() }
                branch = branch.children[part]!
            }
            branch.value = value
        }
        var out = ""
        func emit(_ branch: Branch, _ indent: String) {
            for key in branch.children.keys.sorted() {
                let child = branch.children[key]!
                if let value = child.value {
                    out += "\(indent)\(key): \(value.text)\n"
                } else {
                    out += "\(indent)\(key):\n"
                    emit(child, indent + "  ")
                }
            }
        }
        emit(top, "")
        return out
    }

    /// `text` without its top-level `sections` (each a `name:` line and what is indented
    /// under it), then `replacement`: how the launcher rewrites the sections it owns in a
    /// config the user may have edited, keeping every other line as it was.
    public static func replacingSections(_ sections: Set<String>, in text: String, with replacement: String) -> String {
        var kept: [Substring] = []
        var skipping = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first != " ", first != "\t", first != "#" {
                let name = line.prefix { $0 != ":" }
                skipping = line.count > name.count && sections.contains(String(name)) && line.dropFirst(name.count + 1).allSatisfy { $0 == " " || $0 == "\t" }
            }
            if !skipping { kept.append(line) }
        }
        var head = kept.joined(separator: "\n")
        while head.hasSuffix("\n\n") { head.removeLast() }
        if !head.isEmpty && !head.hasSuffix("\n") { head += "\n" }
        return head + replacement
    }
}
