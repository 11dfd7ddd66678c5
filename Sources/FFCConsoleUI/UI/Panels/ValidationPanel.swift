// The validation box: latest and best verification accuracy.
import FFCEngine

struct ValidationPanel {
    var snapshot: MetricsSnapshot

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        let inner = Box(title: "validation").draw(into: &canvas, rect: rect, context: context)
        guard inner.height >= 1 else { return }
        let rows: [(String, Double?, StyleRole)] = [
            ("now  ", snapshot.validationAccuracy, .accent), ("best ", snapshot.bestValidationAccuracy, .good),
        ]
        for (i, row) in rows.prefix(inner.height).enumerated() {
            canvas.segments(
                [
                    (row.0, .dim),
                    (row.1.map { Format.percent($0, digits: 2) } ?? "not yet", row.1 == nil ? .dim : row.2),
                ],
                x: inner.x, y: inner.y + i, maxWidth: inner.width)
        }
    }
}
