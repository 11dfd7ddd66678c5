// A small picture from an identity's image: each cell is '▀' with the upper pixel as foreground
// and the lower pixel as background, so a cell shows two pixel rows.

struct HalfBlockPicture {
    var width: Int
    var height: Int
    /// Packed RGB, (height, width, 3).
    var rgb: [UInt8]

    /// Box-averaged colour of the source pixels that fall into output pixel (px, py) of `columns` × `pixelRows`.
    private func average(px: Int, py: Int, columns: Int, pixelRows: Int) -> RGB {
        let x0 = px * width / columns
        let x1 = max(x0 + 1, (px + 1) * width / columns)
        let y0 = py * height / pixelRows
        let y1 = max(y0 + 1, (py + 1) * height / pixelRows)
        var sum = (0, 0, 0)
        for y in y0..<min(y1, height) {
            for x in x0..<min(x1, width) {
                let i = (y * width + x) * 3
                sum.0 += Int(rgb[i])
                sum.1 += Int(rgb[i + 1])
                sum.2 += Int(rgb[i + 2])
            }
        }
        let n = max(1, (min(y1, height) - y0) * (min(x1, width) - x0))
        return RGB(UInt8(sum.0 / n), UInt8(sum.1 / n), UInt8(sum.2 / n))
    }

    func draw(into canvas: inout CellCanvas, rect: Rect) {
        guard width > 0, height > 0, rgb.count >= width * height * 3, !rect.isEmpty else { return }
        let pixelRows = rect.height * 2
        for cy in 0..<rect.height {
            for cx in 0..<rect.width {
                let top = average(px: cx, py: 2 * cy, columns: rect.width, pixelRows: pixelRows)
                let bottom = average(px: cx, py: 2 * cy + 1, columns: rect.width, pixelRows: pixelRows)
                canvas[rect.x + cx, rect.y + cy] = Cell(
                    glyph: "▀", role: .text, picture: PictureColours(top: top, bottom: bottom))
            }
        }
    }
}
