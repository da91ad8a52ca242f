import Foundation

/// One figure of a benchmark: named lines of (x, y) points, with its title and axes. Its data
/// goes to `NAME.tsv` (one tab-separated block per line, blocks apart by two blank lines, as
/// gnuplot's `index` reads them), so the numbers behind a picture stay next to it.
public struct Plot: Sendable, Equatable {
    public enum Style: String, Sendable {
        /// Points joined by lines (a line of one point still shows).
        case linespoints
        /// A value holds until the next point (a distribution function).
        case steps
    }

    public struct Line: Sendable, Equatable {
        public var label: String
        public var points: [Point]

        public init(label: String, points: [Point]) {
            self.label = label
            self.points = points
        }
    }

    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double

        public init(_ x: Double, _ y: Double) {
            self.x = x
            self.y = y
        }
    }

    /// The file stem: `NAME.tsv`, `NAME.gp`, `NAME.png`.
    public var name: String
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var style: Style
    public var lines: [Line]

    public init(name: String, title: String, xLabel: String, yLabel: String, style: Style = .linespoints, lines: [Line]) {
        self.name = name
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.style = style
        self.lines = lines
    }

    /// Lines with at least one point: gnuplot refuses an empty block.
    public var drawnLines: [Line] { lines.filter { !$0.points.isEmpty } }

    /// The series as tab-separated text: a comment naming the figure, then per line a
    /// comment with its label and `x<TAB>y` rows.
    public var tsv: String {
        var text = "# \(title)\n# \(xLabel)\t\(yLabel)\n"
        for (i, line) in drawnLines.enumerated() {
            if i > 0 { text += "\n\n" }
            text += "# \(line.label)\n"
            for p in line.points { text += "\(Self.number(p.x))\t\(Self.number(p.y))\n" }
        }
        return text
    }

    /// Writes `NAME.tsv` into `directory` (created when missing); returns its URL.
    @discardableResult
    public func write(to directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name + ".tsv")
        try Data(tsv.utf8).write(to: url)
        return url
    }

    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(format: "%.4f", x)
    }
}
