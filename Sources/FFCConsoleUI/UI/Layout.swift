// Where each panel goes for a terminal size: header, three rows of boxes, footer. Extra rows go
// mostly to the charts; below the minimum size there is no layout, only a message.

struct Layout: Equatable {
    static let minimumWidth = 80
    static let minimumHeight = 24

    var header: Rect
    var loss: Rect
    var hitRate: Rect
    var lru: Rect
    var loaders: Rect
    var events: Rect
    var validation: Rect
    var footer: Rect
    /// Everything between header and footer (overlays such as the inspector use it).
    var body: Rect

    /// Nil when the terminal is smaller than the minimum.
    static func make(width: Int, height: Int) -> Layout? {
        guard width >= minimumWidth, height >= minimumHeight else { return nil }
        let screen = Rect(x: 0, y: 0, width: width, height: height)
        let (header, rest) = screen.splitTop(2)
        let (body, footer) = rest.splitTop(rest.height - 1)
        let topRows = max(10, body.height * 45 / 100)
        let middleRows = max(7, body.height * 30 / 100)
        let (top, below) = body.splitTop(topRows)
        let (middle, bottom) = below.splitTop(middleRows)
        let (loss, hitRate) = top.splitLeft(width * 60 / 100)
        let (lru, loaders) = middle.splitLeft(width / 2)
        let (events, validation) = bottom.splitLeft(width - 22)
        return Layout(
            header: header, loss: loss, hitRate: hitRate, lru: lru, loaders: loaders, events: events,
            validation: validation, footer: footer, body: body)
    }
}

/// The message shown instead of the layout on a too-small terminal.
enum TooSmallMessage {
    static func draw(into canvas: inout CellCanvas, context: RenderContext) {
        let times = context.glyphs.isUnicode ? "×" : "x"
        let lines = [
            "terminal is \(canvas.width)\(times)\(canvas.height),",
            "need at least \(Layout.minimumWidth)\(times)\(Layout.minimumHeight)",
        ]
        canvas.fill(canvas.bounds)
        for (i, line) in lines.enumerated() {
            let w = line.unicodeScalars.count
            canvas.text(
                line, x: max(0, (canvas.width - w) / 2), y: max(0, canvas.height / 2 - 1 + i), role: .warn,
                maxWidth: canvas.width)
        }
    }
}
