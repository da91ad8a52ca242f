import Foundation

/// Draws a `Plot` as a PNG with gnuplot (Debian's `gnuplot-nox`; `make bench` installs it):
/// writes `NAME.gp` next to the plot's `NAME.tsv` and runs gnuplot on it. The one place that
/// knows gnuplot.
public struct GnuplotRenderer: Sendable {
    public let executable: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(executable: String) {
        self.executable = executable
    }

    /// gnuplot from PATH; nil when it is not installed.
    public static func fromPath(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> GnuplotRenderer? {
        for dir in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/gnuplot"
            if FileManager.default.isExecutableFile(atPath: candidate) { return GnuplotRenderer(executable: candidate) }
        }
        return nil
    }

    /// Draws `plot` from its series file `NAME.tsv` in `directory` (written by `Plot.write`)
    /// into `NAME.png` there; returns the PNG's URL.
    @discardableResult
    public func render(_ plot: Plot, in directory: URL) throws -> URL {
        let data = directory.appendingPathComponent(plot.name + ".tsv")
        guard FileManager.default.fileExists(atPath: data.path) else { throw Failure(description: "no series file \(data.path)") }
        guard !plot.drawnLines.isEmpty else { throw Failure(description: "\(plot.name): nothing to draw") }
        let png = directory.appendingPathComponent(plot.name + ".png")
        let script = directory.appendingPathComponent(plot.name + ".gp")
        try Data(Self.script(plot, data: data, png: png).utf8).write(to: script)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [script.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "gnuplot \(script.path) exited \(process.terminationStatus): \(String(decoding: message, as: UTF8.self))")
        }
        return png
    }

    /// The gnuplot program for `plot`: one `index` block of `data` per line.
    static func script(_ plot: Plot, data: URL, png: URL) -> String {
        let curves = plot.drawnLines.enumerated().map { i, line in
            "\(quoted(data.path)) index \(i) using 1:2 with \(plot.style.rawValue) linewidth 2 pointsize 0.6 title \(quoted(line.label))"
        }
        return """
            set terminal pngcairo size 960,540 noenhanced font "sans,11"
            set output \(quoted(png.path))
            set datafile separator "\\t"
            set title \(quoted(plot.title))
            set xlabel \(quoted(plot.xLabel))
            set ylabel \(quoted(plot.yLabel))
            set grid
            set key top left
            set xrange [0:*]
            set yrange [0:*]
            plot \(curves.joined(separator: ", \\\n    "))

            """
    }

    /// A gnuplot single-quoted string (a quote inside is doubled; nothing else is special).
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
