// Quitting asks whether to stop the run or only detach the console.

enum QuitDialog {
    static func draw(into canvas: inout CellCanvas, screen: Rect, context: RenderContext) {
        let rect = screen.centred(width: 50, height: 6)
        let inner = Box(title: "quit", role: .accent).draw(into: &canvas, rect: rect, context: context)
        let lines: [[(String, StyleRole)]] = [
            [("s", .accent), ("  stop the run (checkpoint, then exit)", .text)],
            [("d", .accent), ("  detach: training continues", .text)],
            [("Esc", .accent), (" cancel", .dim)],
        ]
        for (i, line) in lines.enumerated() {
            canvas.segments(line, x: inner.x + 1, y: inner.y + i, maxWidth: inner.width - 2)
        }
    }
}
