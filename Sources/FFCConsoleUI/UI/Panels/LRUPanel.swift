// The LRU box: pool occupancy, evictions per step, age of evicted identities, dual-slot share.
import FFCEngine

struct LRUPanel {
    var snapshot: MetricsSnapshot
    var window: ChartWindow

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        let inner = Box(title: "class pool (LRU)").draw(into: &canvas, rect: rect, context: context)
        guard inner.height >= 1, inner.width >= 20 else { return }
        let records = window.records(snapshot.history)
        let latest = records.last ?? StepRecord()
        let labelWidth = 11
        let valueWidth = 8
        let graphWidth = inner.width - labelWidth - valueWidth
        let occupancy = latest.poolCapacity > 0 ? Double(latest.poolOccupancy) / Double(latest.poolCapacity) : 0
        let rows: [(String, String, (inout CellCanvas, Rect) -> Void)] = [
            (
                "occupancy", Format.percent(occupancy, digits: 1),
                { c, r in
                    Gauge(fraction: occupancy).draw(into: &c, rect: r, context: context)
                }
            ),
            (
                "evict/step", Format.count(Double(latest.evictions)),
                { c, r in
                    Sparkline(values: records.map { Double($0.evictions) }, role: .chart2).draw(
                        into: &c, rect: r, context: context)
                }
            ),
            (
                "evict age", Format.count(latest.evictionAgeMean),
                { c, r in
                    Sparkline(values: records.map(\.evictionAgeMean), role: .chart3).draw(
                        into: &c, rect: r, context: context)
                }
            ),
            (
                "dual share", Format.percent(latest.dualShare, digits: 1),
                { c, r in
                    Gauge(fraction: latest.dualShare, fillRole: .chart1).draw(into: &c, rect: r, context: context)
                }
            ),
        ]
        for (i, row) in rows.prefix(inner.height).enumerated() {
            let y = inner.y + i
            canvas.text(row.0, x: inner.x, y: y, role: .dim, maxWidth: labelWidth - 1)
            row.2(&canvas, Rect(x: inner.x + labelWidth, y: y, width: graphWidth - 1, height: 1))
            canvas.text(
                Table.cell(row.1, width: valueWidth, alignRight: true), x: inner.maxX - valueWidth, y: y, role: .accent)
        }
        if inner.height > rows.count {
            canvas.segments(
                [
                    ("slots ", .dim),
                    ("\(Format.grouped(latest.poolOccupancy))/\(Format.grouped(latest.poolCapacity))", .text),
                    ("  inserts ", .dim), (Format.count(Double(latest.inserts)), .text), ("/step", .dim),
                ], x: inner.x, y: inner.y + rows.count, maxWidth: inner.width)
        }
    }
}
