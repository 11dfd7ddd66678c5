// Line charts over a shared y range: braille dots (2×4 per cell), eighth blocks (1×8) or ASCII
// marks (1×3), with the range's ends labelled on the left when there is room.
import Foundation

/// One line in a chart, oldest value first.
struct ChartSeries {
    var values: [Double]
    var role: StyleRole
}

struct LineChart {
    var series: [ChartSeries]
    var logScale = false
    /// A fixed y range (e.g. 0…1 for rates); nil fits the data.
    var fixedRange: ClosedRange<Double>? = nil
    /// Width of the y-label column; 0 hides labels.
    var labelWidth = 6

    /// Smallest value the log scale shows; losses can reach 0 exactly.
    private static let logFloor = 1e-4

    private func transform(_ v: Double) -> Double { logScale ? log10(max(v, Self.logFloor)) : v }
    private func untransform(_ v: Double) -> Double { logScale ? pow(10, v) : v }

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        guard rect.width >= 1, rect.height >= 1 else { return }
        let showLabels = labelWidth > 0 && rect.width >= labelWidth + 10 && rect.height >= 2
        let (labels, plot) = rect.splitLeft(showLabels ? labelWidth : 0)
        let finite = series.flatMap { $0.values }.filter { $0.isFinite }.map(transform)
        guard !finite.isEmpty else {
            canvas.text("no data yet", x: plot.x, y: plot.y + plot.height / 2, role: .dim, maxWidth: plot.width)
            return
        }
        var lo = fixedRange.map { transform($0.lowerBound) } ?? finite.min()!
        var hi = fixedRange.map { transform($0.upperBound) } ?? finite.max()!
        if hi - lo < 1e-12 {
            lo -= 0.5 * max(abs(lo), 1e-3)
            hi += 0.5 * max(abs(hi), 1e-3)
        }
        if showLabels {
            canvas.text(Format.value(untransform(hi)), x: labels.x, y: labels.y, role: .dim, maxWidth: labelWidth - 1)
            canvas.text(
                Format.value(untransform(lo)), x: labels.x, y: labels.maxY - 1, role: .dim, maxWidth: labelWidth - 1)
        }
        let (columnsPerCell, rowsPerCell) = resolution(context.chartStyle)
        let dotColumns = plot.width * columnsPerCell
        let dotRows = plot.height * rowsPerCell
        var dots = [UInt8](repeating: 0, count: plot.width * plot.height * 8)
        var roles = [StyleRole?](repeating: nil, count: plot.width * plot.height)
        for s in series where !s.values.isEmpty {
            let columns = Self.resample(s.values.map(transform), to: dotColumns)
            var previousRow: Int?
            for (c, v) in columns.enumerated() where v.isFinite {
                let clamped = min(max(v, lo), hi)
                let row = Int(((hi - clamped) / (hi - lo) * Double(dotRows - 1)).rounded())
                let from = context.chartStyle == .braille ? min(previousRow ?? row, row) : row
                let to = context.chartStyle == .braille ? max(previousRow ?? row, row) : row
                for r in from...to {
                    let cell = (r / rowsPerCell) * plot.width + c / columnsPerCell
                    dots[cell * 8 + (r % rowsPerCell) * columnsPerCell + c % columnsPerCell] = 1
                    roles[cell] = s.role
                }
                previousRow = row
            }
        }
        for cy in 0..<plot.height {
            for cx in 0..<plot.width {
                let cell = cy * plot.width + cx
                guard let role = roles[cell] else { continue }
                let bits = dots[(cell * 8)..<(cell * 8 + 8)]
                canvas.put(
                    glyph(bits: Array(bits), style: context.chartStyle, glyphs: context.glyphs),
                    x: plot.x + cx, y: plot.y + cy, role: role)
            }
        }
    }

    private func resolution(_ style: ChartStyle) -> (Int, Int) {
        switch style {
        case .braille: (2, 4)
        case .block: (1, 8)
        case .ascii: (1, 3)
        }
    }

    /// `bits` is (rows, columns) row-major within one cell at the style's resolution.
    private func glyph(bits: [UInt8], style: ChartStyle, glyphs: GlyphSet) -> Unicode.Scalar {
        switch style {
        case .braille:
            // Braille dot numbering: column 0 rows 0–2 → bits 0–2, column 1 rows 0–2 → bits 3–5,
            // row 3 → bits 6 (column 0) and 7 (column 1).
            let weights: [UInt32] = [0x01, 0x08, 0x02, 0x10, 0x04, 0x20, 0x40, 0x80]
            var code: UInt32 = 0x2800
            for (i, b) in bits.enumerated() where b != 0 { code |= weights[i] }
            return Unicode.Scalar(code)!
        case .block:
            // The highest marked eighth decides the bar height from the cell's bottom.
            let top = bits.firstIndex(of: 1) ?? 7
            return glyphs.bars[7 - top]
        case .ascii:
            let top = bits.firstIndex(of: 1) ?? 1
            return ["'", "-", "_"][top]
        }
    }

    /// Bucket means when shrinking, linear interpolation when stretching.
    static func resample(_ values: [Double], to count: Int) -> [Double] {
        guard count > 0, !values.isEmpty else { return [] }
        let n = values.count
        if n == 1 { return [values[0]] }
        if n >= count {
            return (0..<count).map { c in
                let a = c * n / count
                let b = max(a + 1, (c + 1) * n / count)
                let bucket = values[a..<b].filter { $0.isFinite }
                return bucket.isEmpty ? .nan : bucket.reduce(0, +) / Double(bucket.count)
            }
        }
        return (0..<count).map { c in
            let t = Double(c) * Double(n - 1) / Double(count - 1)
            let i = min(Int(t), n - 2)
            let f = t - Double(i)
            return values[i] * (1 - f) + values[i + 1] * f
        }
    }
}
