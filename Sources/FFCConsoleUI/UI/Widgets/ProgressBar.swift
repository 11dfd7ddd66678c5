// A progress bar: a gauge with its percentage written over the middle.

struct ProgressBar {
    var fraction: Double

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        guard rect.width > 0 else { return }
        Gauge(fraction: fraction).draw(into: &canvas, rect: rect, context: context)
        let label = Format.percent(min(max(fraction.isFinite ? fraction : 0, 0), 1))
        let width = label.unicodeScalars.count
        guard rect.width >= width + 2 else { return }
        canvas.text(label, x: rect.x + (rect.width - width) / 2, y: rect.y, role: .title)
    }
}
