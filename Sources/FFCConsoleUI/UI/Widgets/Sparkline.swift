// A one-row sparkline of the most recent values, one bar per cell, scaled from 0 to the maximum.

struct Sparkline {
    var values: [Double]
    var role: StyleRole = .chart1

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        guard rect.width > 0, rect.height > 0 else { return }
        let shown = Array(values.suffix(rect.width))
        let top = max(shown.filter { $0.isFinite }.max() ?? 0, 1e-12)
        let bars = context.glyphs.bars
        for (i, v) in shown.enumerated() {
            let level = v.isFinite && v > 0 ? min(bars.count - 1, Int((v / top * Double(bars.count - 1)).rounded())) : 0
            let glyph: Unicode.Scalar = v > 0 ? bars[level] : (context.glyphs.isUnicode ? "▁" : "_")
            canvas.put(glyph, x: rect.x + rect.width - shown.count + i, y: rect.y, role: v > 0 ? role : .dim)
        }
    }
}
