// The class-pool hit rate box: share of probes whose identity is in the pool, for the
// identity-pair part (should stay near 100%) and the instance part (grows with Q/N).
import FFCEngine

struct HitRatePanel {
    var snapshot: MetricsSnapshot
    var window: ChartWindow

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        let inner = Box(title: "pool hit rate", note: window.label).draw(into: &canvas, rect: rect, context: context)
        guard inner.height >= 2 else { return }
        let records = window.records(snapshot.history)
        let latest = records.last
        let pairRole: StyleRole = (latest?.hitRatePair ?? 1) < 0.95 ? .warn : .chart1
        canvas.segments(
            [
                ("pair ", .dim), (latest.map { Format.percent($0.hitRatePair, digits: 1) } ?? "-", pairRole),
                ("  instance ", .dim), (latest.map { Format.percent($0.hitRateInstance, digits: 1) } ?? "-", .chart2),
            ], x: inner.x, y: inner.y, maxWidth: inner.width)
        LineChart(
            series: [
                ChartSeries(values: records.map(\.hitRateInstance), role: .chart2),
                ChartSeries(values: records.map(\.hitRatePair), role: .chart1),
            ], fixedRange: 0...1
        ).draw(into: &canvas, rect: inner.splitTop(1).1, context: context)
    }
}
