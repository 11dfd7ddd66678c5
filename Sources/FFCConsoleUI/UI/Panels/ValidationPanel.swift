// The validation box: latest and best verification accuracy; with `.bin` sets (`ffc train
// --val`) one row per set — accuracy without and with flip, and the best flip accuracy so far —
// above the held-out pairs' rows when a run has both.
import FFCEngine

struct ValidationPanel {
    var snapshot: MetricsSnapshot

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        let inner = Box(title: "validation").draw(into: &canvas, rect: rect, context: context)
        guard inner.height >= 1 else { return }
        var lines: [[(String, StyleRole)]] = []
        let sets = snapshot.validationSets ?? []
        let nameWidth = sets.map(\.set.count).max() ?? 0
        for r in sets {
            lines.append([
                (r.set + String(repeating: " ", count: nameWidth - r.set.count + 1), .dim),
                (Format.percent(r.accuracy, digits: 2), .accent), (" flip ", .dim),
                (Format.percent(r.accuracyFlip, digits: 2), .accent), (" best ", .dim),
                (Format.percent(r.bestAccuracyFlip, digits: 2), .good),
            ])
        }
        if sets.isEmpty || snapshot.validationAccuracy != nil {
            let rows: [(String, Double?, StyleRole)] = [
                ("now  ", snapshot.validationAccuracy, .accent), ("best ", snapshot.bestValidationAccuracy, .good),
            ]
            for row in rows {
                lines.append([
                    (row.0, .dim),
                    (row.1.map { Format.percent($0, digits: 2) } ?? "not yet", row.1 == nil ? .dim : row.2),
                ])
            }
        }
        for (i, line) in lines.prefix(inner.height).enumerated() {
            canvas.segments(line, x: inner.x, y: inner.y + i, maxWidth: inner.width)
        }
    }
}
