// The footer: a status message (refusals, prompts' results) when there is one, then key hints
// generated from the key table.

struct FooterBar {
    var mode: KeyMode
    var status: (text: String, role: StyleRole)?

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        guard rect.height >= 1 else { return }
        canvas.fill(Rect(x: rect.x, y: rect.y, width: rect.width, height: 1))
        var parts: [(String, StyleRole)] = []
        if let status {
            parts.append((" \(status.text) ", status.role))
            parts.append(("  ? ", .accent))
            parts.append(("help", .dim))
        } else {
            for hint in KeyTable.hints(for: mode, unicode: context.glyphs.isUnicode) {
                parts.append((" \(hint.key) ", .accent))
                parts.append((hint.word, .dim))
            }
        }
        canvas.segments(parts, x: rect.x, y: rect.y, maxWidth: rect.width)
    }
}
