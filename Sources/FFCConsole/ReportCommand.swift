// `ffc report`: pictures for a report — a run's loss, hit-rate and validation curves from its
// metrics.jsonl, or the ROC curves of several evaluations (their `--roc` CSV files) on one chart.
import ArgumentParser
import FFCEngine
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a run's curves, or several models' ROC curves, into an SVG or PNG file.",
        discussion: """
            ffc report RUN --out report.svg       loss, pool hit rate and validation accuracy of
                                                  runs/RUN (or the run directory RUN) by step
            ffc report --roc a.csv --roc b.csv --out roc.svg
                                                  ROC files written by `ffc eval ijb --roc` (fpr,tpr,…)
                                                  or `ffc eval verify --roc` (threshold,fpr,tpr) on
                                                  one log-FAR chart, named by --label or file name
            """
    )

    @Argument(help: "Run name (under --root) or run directory.")
    var runName: String?

    @Option(name: .long, help: "Directory holding run directories.")
    var root = "runs"

    @Option(help: "ROC CSV file (repeatable): one curve each.")
    var roc: [String] = []

    @Option(help: "Curve names for --roc, in order (default: the file names).")
    var label: [String] = []

    @Option(help: "Chart title.")
    var title: String?

    @Option(help: "Output file: .svg, or .png (the SVG rasterised by rsvg-convert).")
    var out: String

    @Flag(help: "Print one JSON object per chart series instead of a line of text.")
    var json = false

    func validate() throws {
        if (runName == nil) == roc.isEmpty { throw ValidationError("give a RUN or --roc FILE (one or several)") }
        if !label.isEmpty && label.count != roc.count {
            throw ValidationError("give one --label per --roc file (\(roc.count) files, \(label.count) labels)")
        }
        if Figure.format(of: out) == nil {
            throw ValidationError("--out \(out): plots are written as SVG (.svg) or PNG (.png)")
        }
    }

    func run() throws {
        let figure: Figure
        if let runName {
            let directory = RunDirectory(
                path: FileManager.default.fileExists(atPath: runName) ? runName : root + "/" + runName)
            guard directory.exists else { throw RunDirectoryError.notARun(path: directory.path) }
            let contents = try MetricsStreamContents.read(path: directory.metricsPath)
            figure = RunReport.figure(name: title ?? directory.name, contents: contents)
        } else {
            let curves = try roc.enumerated().map { k, path in
                let c = try ROCCurveFile.read(path: path)
                return (name: label.isEmpty ? (path as NSString).lastPathComponent : label[k], fpr: c.fpr, tpr: c.tpr)
            }
            figure = Figure(charts: [Chart.roc(title: title ?? "ROC", curves: curves)])
        }
        try figure.write(to: out)
        for chart in figure.charts {
            for s in chart.series {
                if json {
                    try printJSON(["out": out, "chart": chart.title, "series": s.name, "points": s.points.count])
                }
            }
        }
        if !json {
            print(
                "wrote \(out): \(figure.charts.count) chart(s), \(figure.charts.map(\.series.count).reduce(0, +)) curve(s)"
            )
        }
    }
}
