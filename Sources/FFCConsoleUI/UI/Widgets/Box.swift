// A bordered box with a title in its top edge (btop style), and an optional note at the right.

struct Box {
    var title: String
    var note: String = ""
    var role: StyleRole = .border

    /// Draws the border and clears the inside; returns the inner rectangle.
    @discardableResult
    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        let g = context.glyphs
        canvas.fill(rect.inset(1))
        for x in rect.x + 1..<rect.maxX - 1 {
            canvas.put(g.horizontal, x: x, y: rect.y, role: role)
            canvas.put(g.horizontal, x: x, y: rect.maxY - 1, role: role)
        }
        for y in rect.y + 1..<rect.maxY - 1 {
            canvas.put(g.vertical, x: rect.x, y: y, role: role)
            canvas.put(g.vertical, x: rect.maxX - 1, y: y, role: role)
        }
        canvas.put(g.topLeft, x: rect.x, y: rect.y, role: role)
        canvas.put(g.topRight, x: rect.maxX - 1, y: rect.y, role: role)
        canvas.put(g.bottomLeft, x: rect.x, y: rect.maxY - 1, role: role)
        canvas.put(g.bottomRight, x: rect.maxX - 1, y: rect.maxY - 1, role: role)
        let room = rect.width - 4
        if !title.isEmpty && room > 0 {
            canvas.text(" \(title) ", x: rect.x + 1, y: rect.y, role: .title, maxWidth: room + 2)
        }
        let noteWidth = note.unicodeScalars.count + 2
        if !note.isEmpty && noteWidth + title.unicodeScalars.count + 4 <= rect.width {
            canvas.text(" \(note) ", x: rect.maxX - 1 - noteWidth, y: rect.y, role: .dim)
        }
        return rect.inset(1)
    }
}
