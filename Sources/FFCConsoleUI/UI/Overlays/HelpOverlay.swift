// The help overlay, generated from the key table: one column per key mode side by side when
// they fit, else one below the other.

enum HelpOverlay {
    static func draw(into canvas: inout CellCanvas, screen: Rect, context: RenderContext) {
        let sections = KeyTable.helpSections(unicode: context.glyphs.isUnicode)
        let columnWidth = sections.flatMap { [$0.heading] + $0.lines }.map { $0.unicodeScalars.count }.max() ?? 0
        let sideBySide = screen.width >= sections.count * (columnWidth + 2) + 2
        let tallest = sections.map { $0.lines.count + 1 }.max() ?? 0
        let stacked = sections.reduce(0) { $0 + $1.lines.count + 2 } - 1
        let width = sideBySide ? sections.count * (columnWidth + 2) + 2 : columnWidth + 4
        let rect = screen.centred(width: width, height: (sideBySide ? tallest : stacked) + 2)
        let inner = Box(title: "keys", note: "any key closes", role: .accent).draw(
            into: &canvas, rect: rect, context: context)
        var x = inner.x + 1
        var y = inner.y
        for section in sections {
            canvas.text(section.heading, x: x, y: y, role: .title, maxWidth: inner.maxX - x)
            for (i, line) in section.lines.enumerated() where y + 1 + i < inner.maxY {
                canvas.text(line, x: x, y: y + 1 + i, role: .text, maxWidth: inner.maxX - x)
            }
            if sideBySide { x += columnWidth + 2 } else { y += section.lines.count + 2 }
        }
    }
}
