/// The benchmark's figures, each from what a phase measured (docs: README "Benchmark").
extension Plot {
    /// Records/s in each second of each load phase, from the times (seconds from the
    /// phase's start) at which each batch of `recordsPerBatch` was acknowledged. A last
    /// partial second counts at its own length (left out below 0.2 s: too short to say).
    public static func throughput(name: String, title: String, phases: [(label: String, completions: [Double], recordsPerBatch: Int)]) -> Plot {
        Plot(name: name, title: title, xLabel: "seconds since the phase started", yLabel: "records/s",
             lines: phases.map { Line(label: $0.label, points: perSecond($0.completions, recordsPerBatch: $0.recordsPerBatch)) })
    }

    static func perSecond(_ completions: [Double], recordsPerBatch: Int) -> [Point] {
        guard let end = completions.max() else { return [] }
        var counts = [Int](repeating: 0, count: Int(end) + 1)
        for t in completions { counts[max(0, Int(t))] += recordsPerBatch }
        return counts.enumerated().compactMap { second, records in
            let length = min(1, end - Double(second))
            guard length >= 0.2 else { return nil }
            return Point(Double(second) + length / 2, Double(records) / length)
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
