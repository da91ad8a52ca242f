/// Node names of a local cluster: node-a, node-b, ... (26 at most), in order.
public enum NodeNames {
    static let letters = Array("abcdefghijklmnopqrstuvwxyz")
    public static let maximum = letters.count

    public static func name(_ index: Int) -> String { "node-\(letters[index])" }

    public static func first(_ count: Int) -> [String] { (0..<count).map(name) }

    /// node-c → 2; nil for a name that is not node-LETTER.
    public static func index(of name: String) -> Int? {
        guard name.count == 6, name.hasPrefix("node-"), let letter = name.last else { return nil }
        return letters.firstIndex(of: letter)
    }
}
