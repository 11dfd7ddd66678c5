// A horizontal gauge: filled and empty cells for a fraction in 0…1, e.g. ring fill or occupancy.

struct Gauge {
    var fraction: Double
    var fillRole: StyleRole = .gaugeFill

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        guard rect.width > 0, rect.height > 0 else { return }
        let f = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let filled = Int((f * Double(rect.width)).rounded())
        for i in 0..<rect.width {
            let full = i < filled
            canvas.put(
                full ? context.glyphs.gaugeFull : context.glyphs.gaugeEmpty, x: rect.x + i, y: rect.y,
                role: full ? fillRole : .gaugeEmpty)
        }
    }
}
