// The events log: commands, refusals with the engine's reason, checkpoints, warnings; newest last.
import FFCEngine

struct EventsPanel {
    var snapshot: MetricsSnapshot

    static func role(_ kind: EventRecord.Kind) -> StyleRole {
        switch kind {
        case .refused: .bad
        case .warning: .warn
        case .checkpoint: .good
        case .command: .accent
        case .validation: .chart1
        case .info: .text
        }
    }

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        let inner = Box(title: "events").draw(into: &canvas, rect: rect, context: context)
        guard inner.height >= 1 else { return }
        let shown = snapshot.events.suffix(inner.height)
        if shown.isEmpty {
            canvas.text("no events yet", x: inner.x, y: inner.y, role: .dim, maxWidth: inner.width)
        }
        for (i, e) in shown.enumerated() {
            canvas.segments(
                [
                    (Table.cell(Format.grouped(e.step), width: 7, alignRight: true) + " ", .dim),
                    (Table.cell(e.kind.rawValue, width: 11, alignRight: false), Self.role(e.kind)),
                    (e.message, e.kind == .refused ? .bad : .text),
                ], x: inner.x, y: inner.y + i, maxWidth: inner.width)
        }
    }
}
