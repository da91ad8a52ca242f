/// `LIKE` patterns: `%` any run of characters, `_` one character; case-insensitive like
/// Harper's (which compares upper-cased text) and SQLite's.
public enum SQLLike {
    public static func matches(_ text: String, pattern: String) -> Bool {
        let t = Array(text.uppercased()), p = Array(pattern.uppercased())
        // Greedy matching with backtracking to the last `%`: linear in practice.
        var ti = 0, pi = 0
        var star: Int?, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "_" || (p[pi] != "%" && p[pi] == t[ti]) {
                ti += 1
                pi += 1
            } else if pi < p.count, p[pi] == "%" {
                star = pi
                mark = ti
                pi += 1
            } else if let s = star {
                pi = s + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "%" { pi += 1 }
        return pi == p.count
    }

    /// The text before the first wildcard: every match starts with it (ignoring case).
    public static func prefix(_ pattern: String) -> String {
        String(pattern.prefix { $0 != "%" && $0 != "_" })
    }
}
