// The loss box: total, margin part and outlier part, smoothed (EMA) over the raw total, in a
// zoomable window with a log-scale toggle.
import FFCEngine

struct LossPanel {
    var snapshot: MetricsSnapshot
    var window: ChartWindow

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        let note = "\(window.logScale ? "log" : "lin") \(window.label)"
        let inner = Box(title: "loss", note: note).draw(into: &canvas, rect: rect, context: context)
        guard inner.height >= 2 else { return }
        let records = window.records(snapshot.history)
        let total = records.map(\.loss)
        let margin = ChartWindow.ema(records.map(\.lossMargin))
        let outlier = ChartWindow.ema(records.map(\.lossOutlier))
        let smoothed = ChartWindow.ema(total)
        canvas.segments(
            [
                ("total ", .dim), (smoothed.last.map(Format.value) ?? "-", .chart1),
                ("  margin ", .dim), (margin.last.map(Format.value) ?? "-", .chart2),
                ("  outlier ", .dim), (outlier.last.map(Format.value) ?? "-", .chart3),
                ("  raw", .chartRaw),
            ], x: inner.x, y: inner.y, maxWidth: inner.width)
        LineChart(
            series: [
                ChartSeries(values: total, role: .chartRaw), ChartSeries(values: outlier, role: .chart3),
                ChartSeries(values: margin, role: .chart2), ChartSeries(values: smoothed, role: .chart1),
            ], logScale: window.logScale
        ).draw(into: &canvas, rect: inner.splitTop(1).1, context: context)
    }
}
