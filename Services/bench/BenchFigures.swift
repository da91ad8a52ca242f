import Foundation
import SkeinBenchPlots

/// The figures of one benchmark run: the series its phases measured, written as `.tsv` into
/// the output directory (`SKEIN_BENCH_OUT`, default `.bench/` in the current directory, the
/// repository under `make`) and drawn as PNGs next to them with gnuplot, when installed
/// (`make bench` and `make bench-cluster` install it).
final class BenchFigures {
    let directory: URL
    /// The file stems' prefix: `bench` or `cluster`.
    let prefix: String
    private var runs: [LoadRun] = []
    private var plots: [Plot] = []

    init(prefix: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.prefix = prefix
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        directory = URL(fileURLWithPath: environment["SKEIN_BENCH_OUT"] ?? ".bench", isDirectory: true, relativeTo: cwd).standardizedFileURL
    }

    /// A load phase, for the throughput figure (records/s in each of its seconds).
    func record(_ run: LoadRun) { runs.append(run) }

    func add(_ plot: Plot) { plots.append(plot) }

    /// Writes every series, draws them, and prints where they are (before the JSON line,
    /// which stays the last).
    func finish() {
        var all = plots
        if !runs.isEmpty {
            all.insert(.throughput(name: prefix + "-throughput", title: "skein-bench \(prefix): throughput of each load phase",
                                   phases: runs.map { ($0.label, $0.completions, $0.batch) }), at: 0)
        }
        do {
            for plot in all { try plot.write(to: directory) }
        } catch {
            print("figures: cannot write the series into \(directory.path): \(error)")
            return
        }
        guard let renderer = GnuplotRenderer.fromPath() else {
            print("figures: series in \(directory.path) (\(prefix)-*.tsv); gnuplot is not installed, so no PNG (apt-get install gnuplot-nox)")
            return
        }
        for plot in all {
            do { print("figure: \(try renderer.render(plot, in: directory).path)") } catch { print("figure \(plot.name) not drawn: \(error)") }
        }
    }
}
