// The loader balance box: per loader batches/s, ring fill, the share of trainer time spent
// waiting on it and worker busy share; and which part is the bottleneck.
import FFCEngine

struct LoaderPanel {
    var snapshot: MetricsSnapshot
    /// Below this wait share the trainer is not considered starved by a loader.
    static let starvedWaitShare = 0.05

    /// The loader the trainer waits on most, if it waits noticeably; nil means compute-bound.
    static func bottleneck(_ loaders: [LoaderStats]) -> LoaderStats? {
        loaders.max { $0.trainerWaitShare < $1.trainerWaitShare }.flatMap {
            $0.trainerWaitShare >= starvedWaitShare ? $0 : nil
        }
    }

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        let inner = Box(title: "loaders").draw(into: &canvas, rect: rect, context: context)
        guard inner.height >= 1, inner.width >= 30 else { return }
        let loaders = snapshot.latest?.loaders ?? []
        let nameWidth = max(8, inner.width - 31)
        let columns = [
            TableColumn(title: "loader", width: nameWidth, alignRight: false), TableColumn(title: "b/s", width: 6),
            TableColumn(title: "ring", width: 10, alignRight: false), TableColumn(title: "wait", width: 5),
            TableColumn(title: "busy", width: 5),
        ]
        let table = Table(columns: columns, rows: [], selected: nil)
        canvas.text(table.format(columns.map(\.title)), x: inner.x, y: inner.y, role: .title, maxWidth: inner.width)
        let worst = Self.bottleneck(loaders)
        for (i, l) in loaders.prefix(max(0, inner.height - 2)).enumerated() {
            let y = inner.y + 1 + i
            var x = inner.x
            canvas.text(Table.cell(l.name, width: nameWidth, alignRight: false), x: x, y: y, role: .text)
            x += nameWidth + 1
            canvas.text(
                Table.cell(Format.count(l.batchesPerSecond), width: 6, alignRight: true), x: x, y: y, role: .accent)
            x += 7
            let fill = l.ringCapacity > 0 ? Double(l.ringFill) / Double(l.ringCapacity) : 0
            Gauge(fraction: fill, fillRole: fill < 0.25 ? .warn : .gaugeFill).draw(
                into: &canvas, rect: Rect(x: x, y: y, width: 10, height: 1), context: context)
            x += 11
            let waitRole: StyleRole = worst?.name == l.name ? .bad : .text
            canvas.text(
                Table.cell(Format.percent(l.trainerWaitShare), width: 5, alignRight: true), x: x, y: y, role: waitRole)
            x += 6
            canvas.text(
                Table.cell(Format.percent(l.workerBusyShare), width: 5, alignRight: true), x: x, y: y, role: .text)
        }
        guard inner.height >= 2 else { return }
        let verdict: [(String, StyleRole)] =
            if loaders.isEmpty { [("no loader figures yet", .dim)] } else if let w = worst {
                [("bottleneck: ", .dim), (w.name, .bad), (" (waits \(Format.percent(w.trainerWaitShare)))", .text)]
            } else { [("bottleneck: ", .dim), ("trainer", .good), (" (compute-bound)", .text)] }
        canvas.segments(verdict, x: inner.x, y: inner.maxY - 1, maxWidth: inner.width)
    }
}
