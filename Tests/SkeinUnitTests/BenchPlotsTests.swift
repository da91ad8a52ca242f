import Foundation
import Testing
@testable import SkeinBenchPlots

/// The benchmark's figures: series files written by its own series types, drawn by the real
/// gnuplot (`.ci/run` installs gnuplot-nox; without it this fails, it never skips).
@Suite("Benchmark figures")
struct BenchPlotsTests {
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// A throughput, a lag and a copy figure, from series shaped like a run's.
    static func figures() -> [Plot] {
        let steady = (1...640).map { Double($0) * 0.005 }  // a batch every 5 ms for 3.2 s
        let paced = (1...200).map { Double($0) * 0.05 }
        let lags = (0..<500).map { 2 + Double(($0 * 37) % 100) / 7 }
        let copy = (0..<40).map { (seconds: Double($0) * 0.25, rows: $0 * 2500) }
        return [
            .throughput(name: "t-throughput", title: "throughput of each load phase",
                        phases: [("gateway (HTTP POST /)", steady, 100), ("paced writes on node-a", paced, 100)]),
            .lagDistribution(name: "t-lag", title: "lag node-a → node-b", lagsMillis: lags),
            .copyProgress(name: "t-copy", title: "full copy's rows", samples: copy),
        ]
    }

    @Test func theRendererDrawsTheSeriesFilesAsPNGs() throws {
        let renderer = try #require(GnuplotRenderer.fromPath(), "gnuplot is not installed (apt-get install gnuplot-nox)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skein-plots-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        for plot in Self.figures() {
            let series = try plot.write(to: directory)
            #expect(try String(contentsOf: series, encoding: .utf8).contains("\t"), "\(plot.name).tsv has no rows")
            let png = try renderer.render(plot, in: directory)
            let bytes = [UInt8](try Data(contentsOf: png))
            #expect(Array(bytes.prefix(8)) == Self.pngSignature, "\(png.path) is not a PNG")
            #expect(bytes.count > 10_000, "\(png.path) is only \(bytes.count) bytes")
        }
    }

    /// Records/s per interval of a phase: whole intervals as counted, a last partial one at
    /// its own length; a second for long phases, a twentieth of a short one.
    @Test func throughputIsCountedPerInterval() {
        let completions = [0.1, 0.5, 0.9, 1.2, 1.5]  // 3 batches in the first second, 2 in 0.5 s
        let points = Plot.rates(completions, recordsPerBatch: 100, interval: 1)
        #expect(points == [Plot.Point(0.5, 300), Plot.Point(1.25, 400)])
        #expect(Plot.interval(60) == 1 && Plot.interval(0.64) == 0.05 && Plot.interval(4) == 0.2)
    }

    /// A label with a quote cannot end gnuplot's string early.
    @Test func labelsAreQuotedForGnuplot() {
        #expect(GnuplotRenderer.quoted("node-a's lag") == "'node-a''s lag'")
    }
}
