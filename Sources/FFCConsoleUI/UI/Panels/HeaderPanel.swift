// The two header lines: run, model and progress on the bar; throughput, LR, ETA, memory and
// validation below.
import FFCEngine

struct HeaderPanel {
    var snapshot: MetricsSnapshot

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        guard rect.height >= 2 else { return }
        let s = snapshot
        let sep = " \(context.glyphs.separator) "
        canvas.fill(Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), role: .header)
        let run = s.runName.isEmpty ? "ffc" : s.runName
        // Data parallel: ranks × threads, and the rank the others wait for.
        var ranks = ""
        if let count = s.rankCount, count > 1 {
            ranks = "\(count) ranks × \(s.threadsPerRank ?? 1) thr"
            if let slow = s.latest?.slowestRank { ranks += ", slowest \(slow.rank)" }
        }
        let model = [s.netType, s.head, ranks].filter { !$0.isEmpty }.joined(separator: " ")
        let left = " \(run)\(model.isEmpty ? "" : sep + model)\(sep)epoch \(s.epoch)/\(s.epochs) "
        let stepText =
            s.maxSteps > 0
            ? "step \(Format.grouped(s.step))/\(Format.grouped(s.maxSteps))" : "step \(Format.grouped(s.step))"
        let state = s.finished ? "FINISHED" : s.paused ? "PAUSED" : "ETA \(DurationFormat.compact(s.etaSeconds))"
        let right = " \(stepText) \(state) "
        let leftWidth = canvas.text(left, x: rect.x, y: rect.y, role: .header, maxWidth: rect.width)
        let rightWidth = right.unicodeScalars.count
        let barWidth = rect.width - leftWidth - rightWidth
        if barWidth >= 8 {
            let progress = s.maxSteps > 0 ? Double(s.step) / Double(s.maxSteps) : s.epochProgress
            ProgressBar(fraction: progress).draw(
                into: &canvas, rect: Rect(x: rect.x + leftWidth, y: rect.y, width: barWidth, height: 1),
                context: context)
        }
        if leftWidth + rightWidth <= rect.width {
            canvas.text(right, x: rect.maxX - rightWidth, y: rect.y, role: .header)
        }

        let latest = s.latest ?? StepRecord()
        var parts: [(String, StyleRole)] = [
            (" img/s ", .dim), (Format.count(latest.probeImagesPerSecond), .accent), (" probe", .dim), (sep, .dim),
            (Format.count(latest.allImagesPerSecond), .accent), (" all", .dim),
            ("  lr ", .dim), (Format.learningRate(latest.lr), .accent),
            ("  step ", .dim), (String(format: "%.2fs", latest.stepSeconds), .text),
            ("  mem ", .dim), (Format.bytes(latest.residentBytes), .text),
        ]
        if s.paused { parts.append(("  PAUSED", .warn)) }
        canvas.segments(parts, x: rect.x, y: rect.y + 1, maxWidth: rect.width)
    }
}
