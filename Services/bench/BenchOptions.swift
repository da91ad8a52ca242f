import Foundation

/// `--name N` options with whole positive numbers, over a mode's defaults. A wrong or
/// unknown option prints the usage and exits 2.
enum BenchOptions {
    static func parse(_ arguments: ArraySlice<String>, defaults: [String: Int], usage: String) -> [String: Int] {
        var options = defaults
        var args = arguments
        while let a = args.popFirst() {
            let name = String(a.dropFirst(2))
            guard a.hasPrefix("--"), options[name] != nil, let v = args.popFirst(), let n = Int(v), n > 0 else {
                print("usage: \(usage)")
                exit(2)
            }
            options[name] = n
        }
        return options
    }
}
