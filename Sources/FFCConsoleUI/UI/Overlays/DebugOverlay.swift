// The debug overlay (`D`/F12): what the console itself costs, and what it detected.
import Foundation

/// Frame timing kept by the console loop: draw time per frame and the UI thread's CPU time.
struct FrameStats: Equatable {
    /// Recent frame draw durations (render + blit), seconds.
    var drawSeconds: [Double] = []
    /// UI-thread CPU seconds over wall seconds since the last measurement window began.
    var cpuShare: Double = 0
    var framesPerSecond: Double = 0
    var terminalDescription = "off-screen"

    mutating func record(drawSeconds d: Double) {
        drawSeconds.append(d)
        if drawSeconds.count > 50 { drawSeconds.removeFirst(drawSeconds.count - 50) }
    }

    var meanDrawMilliseconds: Double {
        drawSeconds.isEmpty ? 0 : drawSeconds.reduce(0, +) / Double(drawSeconds.count) * 1000
    }
}

enum DebugOverlay {
    static func draw(into canvas: inout CellCanvas, screen: Rect, stats: FrameStats, context: RenderContext) {
        let lines: [(String, String)] = [
            ("draw", String(format: "%.2f ms/frame", stats.meanDrawMilliseconds)),
            ("frames", String(format: "%.1f /s", stats.framesPerSecond)),
            ("console CPU", String(format: "%.2f%% of one core", stats.cpuShare * 100)),
            ("terminal", stats.terminalDescription),
            ("charts", context.chartStyle.rawValue),
        ]
        let rect = Rect(x: screen.maxX - 54, y: screen.y + 2, width: 54, height: lines.count + 2)
        let inner = Box(title: "console debug", role: .accent).draw(into: &canvas, rect: rect, context: context)
        for (i, line) in lines.enumerated() {
            canvas.segments(
                [(Table.cell(line.0, width: 12, alignRight: false), .dim), (line.1, .accent)],
                x: inner.x + 1, y: inner.y + i, maxWidth: inner.width - 2)
        }
    }
}
