// Plot: the figure `ffc report` draws from a run's metrics stream — loss curves, the pool's hit
// rates and, when the run validated, each `.bin` set's accuracy (with and without flip).
import Foundation

public enum RunReport {
    /// The charts of one run's stream, in a grid of two columns.
    public static func figure(name: String, contents: MetricsStreamContents) -> Figure {
        let steps = contents.steps
        func series(_ title: String, _ value: (StepRecord) -> Double) -> PlotSeries {
            PlotSeries(name: title, points: steps.map { (Double($0.step), value($0)) })
        }
        var charts = [
            Chart(
                title: "\(name): loss", xLabel: "step", yLabel: "loss",
                series: [
                    series("loss", \.loss), series("margin part", \.lossMargin),
                    series("outlier part", \.lossOutlier),
                ]),
            Chart(
                title: "\(name): pool hit rate", xLabel: "step", yLabel: "share of probes",
                series: [series("identity pair", \.hitRatePair), series("instance", \.hitRateInstance)]),
        ]
        var sets: [String] = []
        for v in contents.validations where !sets.contains(v.set) { sets.append(v.set) }
        if !sets.isEmpty {
            var curves: [PlotSeries] = []
            for set in sets {
                let rows = contents.validations.filter { $0.set == set }
                curves.append(PlotSeries(name: "\(set) flip", points: rows.map { (Double($0.step), $0.accuracyFlip) }))
                curves.append(PlotSeries(name: set, points: rows.map { (Double($0.step), $0.accuracy) }))
            }
            charts.append(Chart(title: "\(name): validation", xLabel: "step", yLabel: "accuracy", series: curves))
        }
        return Figure(charts: charts, columns: 2)
    }
}
