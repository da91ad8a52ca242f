/// Prometheus text from several processes made into one exposition: the gateway's
/// `GET /metrics` joins its own with each service's `metrics` answer. A metric family that
/// several processes export (the replicators of one node) must appear once, with one
/// `# HELP`/`# TYPE` and its samples together, or scrapers reject the page.
public enum PrometheusText {
    public static func merge(_ texts: [String]) -> String {
        var order: [Substring] = []
        var families: [Substring: Family] = [:]
        for text in texts {
            var current: Substring?
            for line in text.split(separator: "\n") {
                if let (kind, name) = header(line) {
                    if families[name] == nil { order.append(name); families[name] = Family() }
                    families[name]!.add(header: line, kind: kind)
                    current = name
                } else if !line.hasPrefix("#") {
                    let name = current ?? line.prefix { $0 != "{" && $0 != " " }
                    if families[name] == nil { order.append(name); families[name] = Family() }
                    families[name]!.samples.append(line)
                }
            }
        }
        var out = ""
        for name in order {
            guard let family = families[name] else { continue }
            for line in [family.help, family.type].compactMap({ $0 }) + family.samples { out += line; out += "\n" }
        }
        return out
    }

    private struct Family {
        var help: Substring?
        var type: Substring?
        var samples: [Substring] = []

        mutating func add(header line: Substring, kind: Substring) {
            if kind == "HELP" { help = help ?? line } else { type = type ?? line }
        }
    }

    /// `# HELP name text` or `# TYPE name kind`: the keyword and the metric name.
    private static func header(_ line: Substring) -> (kind: Substring, name: Substring)? {
        guard line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") else { return nil }
        let parts = line.split(separator: " ", maxSplits: 3)
        guard parts.count >= 3 else { return nil }
        return (parts[1], parts[2])
    }
}
