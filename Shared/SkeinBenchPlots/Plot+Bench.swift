/// The benchmark's figures, each from what a phase measured (docs: README "Benchmark").
extension Plot {
    /// Records/s over time in each load phase, from the times (seconds from the phase's
    /// start) at which each batch of `recordsPerBatch` was acknowledged: per second, or per
    /// twentieth of a phase shorter than 20 s (a 64,000-record phase can end within a second),
    /// at least 50 ms. A last partial interval counts at its own length (left out below a
    /// fifth of one: too short to say).
    public static func throughput(name: String, title: String, phases: [(label: String, completions: [Double], recordsPerBatch: Int)]) -> Plot {
        Plot(name: name, title: title, xLabel: "seconds since the phase started", yLabel: "records/s",
             lines: phases.map { phase in
                 let end = phase.completions.max() ?? 0
                 return Line(label: phase.label, points: rates(phase.completions, recordsPerBatch: phase.recordsPerBatch, interval: interval(end)))
             })
    }

    static func interval(_ seconds: Double) -> Double { min(1, max(0.05, seconds / 20)) }

    static func rates(_ completions: [Double], recordsPerBatch: Int, interval: Double) -> [Point] {
        guard let end = completions.max() else { return [] }
        var counts = [Int](repeating: 0, count: Int(end / interval) + 1)
        for t in completions { counts[min(counts.count - 1, max(0, Int(t / interval)))] += recordsPerBatch }
        return counts.enumerated().compactMap { i, records in
            let start = Double(i) * interval
            let length = min(interval, end - start)
            guard length >= interval / 5 else { return nil }
            return Point(start + length / 2, Double(records) / length)
        }
    }

    /// The distribution of per-write lags (milliseconds): the fraction of writes whose lag
    /// was at most x (a cumulative distribution).
    public static func lagDistribution(name: String, title: String, lagsMillis: [Double]) -> Plot {
        let sorted = lagsMillis.sorted()
        let points = sorted.enumerated().map { Point($1, Double($0 + 1) / Double(sorted.count)) }
        return Plot(name: name, title: title, xLabel: "lag (ms)", yLabel: "fraction of writes with at most this lag", style: .steps,
                    lines: [Line(label: "\(sorted.count) writes", points: points)])
    }

    /// Rows a full copy had brought, sampled over time (seconds, rows).
    public static func copyProgress(name: String, title: String, samples: [(seconds: Double, rows: Int)]) -> Plot {
        Plot(name: name, title: title, xLabel: "seconds since the copy started", yLabel: "rows copied",
             lines: [Line(label: "rows on the new node", points: samples.map { Point($0.seconds, Double($0.rows)) })])
    }
}
