// A one-line prompt for a number (pool size, learning rate, identity), its live preview and
// input checks. Values the engine refuses come back later as `.refused` events.
import FFCEngine

enum PromptKind: Equatable {
    case queueSize, learningRate, findIdentity

    var title: String {
        switch self {
        case .queueSize: "set pool size (queue_size)"
        case .learningRate: "set learning rate"
        case .findIdentity: "find identity"
        }
    }

    func accepts(_ c: Character) -> Bool {
        switch self {
        case .queueSize, .findIdentity: c.isASCII && c.isNumber
        case .learningRate: c.isASCII && (c.isNumber || c == "." || c == "e" || c == "E" || c == "-")
        }
    }
}

struct Prompt: Equatable {
    var kind: PromptKind
    var input = ""
    var error: String?

    /// The typed value as a positive integer, for pool sizes and identities.
    var integer: Int? { Int(input).flatMap { $0 >= (kind == .findIdentity ? 0 : 1) ? $0 : nil } }
    /// The typed value as a positive real, for learning rates.
    var real: Double? { Double(input).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }

    /// What submitting the prompt asks the trainer for, with the status line saying so; nil
    /// for the inspector's find prompt, which the inspector answers itself.
    var submission: (command: TrainerCommand, status: String)? {
        switch kind {
        case .queueSize:
            integer.map { (.setQueueSize($0), "asked for pool size \(Format.grouped($0)); applied between steps") }
        case .learningRate:
            real.map {
                (.setLearningRate($0), "asked for learning rate \(Format.learningRate($0)); applied between steps")
            }
        case .findIdentity: nil
        }
    }

    /// What the value would mean, shown under the input before it is applied.
    func preview(_ s: MetricsSnapshot) -> [(String, StyleRole)] {
        switch kind {
        case .queueSize:
            let current = s.latest?.poolCapacity ?? 0
            var lines: [(String, StyleRole)] = []
            if let q = integer {
                let share = s.identities > 0 ? Format.percent(Double(q) / Double(s.identities), digits: 2) : "?%"
                lines.append(
                    (
                        "new pool: \(Format.grouped(q)) slots = \(share) of \(Format.grouped(s.identities)) identities",
                        .accent
                    ))
                lines.append(("memory: \(Format.bytes(q * s.poolBytesPerSlot))", .accent))
            } else {
                lines.append(("type the number of slots", .dim))
                lines.append(("", .dim))
            }
            lines.append(("now: \(Format.grouped(current)) slots, \(Format.bytes(current * s.poolBytesPerSlot))", .dim))
            return lines
        case .learningRate:
            let now = s.latest.map { Format.learningRate($0.lr) } ?? "?"
            return [
                (
                    real.map { "new learning rate: \(Format.learningRate($0))" } ?? "type a positive number, e.g. 0.01",
                    real == nil ? .dim : .accent
                ),
                ("now: \(now)", .dim),
            ]
        case .findIdentity:
            return [("identity label (0-based)", .dim)]
        }
    }

    func draw(into canvas: inout CellCanvas, screen: Rect, snapshot: MetricsSnapshot, context: RenderContext) {
        let preview = preview(snapshot)
        let rect = screen.centred(width: 64, height: 6 + preview.count)
        let inner = Box(title: kind.title, role: .accent).draw(into: &canvas, rect: rect, context: context)
        canvas.segments(
            [("> ", .accent), (input, .title), ("_", .accent)], x: inner.x + 1, y: inner.y, maxWidth: inner.width - 2)
        for (i, line) in preview.enumerated() {
            canvas.text(line.0, x: inner.x + 1, y: inner.y + 2 + i, role: line.1, maxWidth: inner.width - 2)
        }
        let last = inner.maxY - 1
        if let error {
            canvas.text(error, x: inner.x + 1, y: last, role: .bad, maxWidth: inner.width - 2)
        } else {
            canvas.segments(
                [("Enter", .accent), (" apply  ", .dim), ("Esc", .accent), (" cancel", .dim)],
                x: inner.x + 1, y: last, maxWidth: inner.width - 2)
        }
    }
}
