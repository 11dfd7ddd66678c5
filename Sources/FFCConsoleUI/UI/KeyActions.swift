// The one table of key bindings: it drives key handling, the help overlay (`?`) and the footer hints.

/// Where a binding applies.
enum KeyMode: String, CaseIterable {
    case main = "console"
    case inspector = "pool inspector"
}

enum KeyAction: Equatable {
    case quit, pauseResume, setQueueSize, setLearningRate, checkpoint, openInspector, nextTheme
    case toggleLogScale, zoomIn, zoomOut, nextChartStyle, help, debug
    case moveUp, moveDown, pageUp, pageDown, first, last, nextSort, find, detail, close
}

struct KeyBinding {
    var keys: [Key]
    var action: KeyAction
    var mode: KeyMode
    var help: String
    /// Short word for the footer; nil keeps the binding out of the footer.
    var hint: String?

    func keyLabel(unicode: Bool) -> String { keys.map { $0.label(unicode: unicode) }.joined(separator: "/") }
}

enum KeyTable {
    static let bindings: [KeyBinding] = [
        KeyBinding(keys: [.char("q")], action: .quit, mode: .main, help: "quit: stop the run or detach", hint: "quit"),
        KeyBinding(
            keys: [.char("p"), .char(" ")], action: .pauseResume, mode: .main, help: "pause / resume training",
            hint: "pause"),
        KeyBinding(
            keys: [.char("s")], action: .setQueueSize, mode: .main, help: "set pool size (queue_size)", hint: "pool"),
        KeyBinding(
            keys: [.char("l")], action: .setLearningRate, mode: .main, help: "set the learning rate", hint: "lr"),
        KeyBinding(keys: [.char("c")], action: .checkpoint, mode: .main, help: "write a checkpoint now", hint: "ckpt"),
        KeyBinding(
            keys: [.char("i")], action: .openInspector, mode: .main, help: "open the pool inspector", hint: "inspect"),
        KeyBinding(keys: [.char("t")], action: .nextTheme, mode: .main, help: "next theme", hint: "theme"),
        KeyBinding(
            keys: [.char("L")], action: .toggleLogScale, mode: .main, help: "loss chart: log/linear scale", hint: "log"),
        KeyBinding(
            keys: [.char("+"), .char("=")], action: .zoomIn, mode: .main, help: "zoom in (fewer steps)", hint: nil),
        KeyBinding(keys: [.char("-")], action: .zoomOut, mode: .main, help: "zoom out (more steps)", hint: "zoom"),
        KeyBinding(
            keys: [.char("g")], action: .nextChartStyle, mode: .main, help: "charts: braille/blocks/ASCII", hint: nil),
        KeyBinding(keys: [.char("?"), .function(1)], action: .help, mode: .main, help: "this help", hint: "help"),
        KeyBinding(
            keys: [.char("D"), .function(12)], action: .debug, mode: .main, help: "debug: console CPU cost", hint: nil),
        KeyBinding(keys: [.up, .char("k")], action: .moveUp, mode: .inspector, help: "previous slot", hint: "move"),
        KeyBinding(keys: [.down, .char("j")], action: .moveDown, mode: .inspector, help: "next slot", hint: nil),
        KeyBinding(keys: [.pageUp], action: .pageUp, mode: .inspector, help: "page up", hint: nil),
        KeyBinding(keys: [.pageDown], action: .pageDown, mode: .inspector, help: "page down", hint: nil),
        KeyBinding(keys: [.home, .char("g")], action: .first, mode: .inspector, help: "first slot", hint: nil),
        KeyBinding(keys: [.end, .char("G")], action: .last, mode: .inspector, help: "last slot", hint: nil),
        KeyBinding(keys: [.char("o"), .tab], action: .nextSort, mode: .inspector, help: "next sort key", hint: "sort"),
        KeyBinding(keys: [.char("/")], action: .find, mode: .inspector, help: "find an identity", hint: "find"),
        KeyBinding(
            keys: [.enter], action: .detail, mode: .inspector, help: "detail of the selected slot", hint: "detail"),
        KeyBinding(
            keys: [.escape, .char("q"), .char("i")], action: .close, mode: .inspector, help: "close", hint: "close"),
    ]

    static func action(for key: Key, in mode: KeyMode) -> KeyAction? {
        bindings.first { $0.mode == mode && $0.keys.contains(key) }?.action
    }

    /// Help overlay sections, one per mode: a heading, then "keys  what they do" lines.
    static func helpSections(unicode: Bool) -> [(heading: String, lines: [String])] {
        let keyWidth = bindings.map { $0.keyLabel(unicode: unicode).unicodeScalars.count }.max() ?? 0
        return KeyMode.allCases.map { mode in
            (
                mode.rawValue,
                bindings.filter { $0.mode == mode }.map {
                    Table.cell($0.keyLabel(unicode: unicode), width: keyWidth, alignRight: false) + "  " + $0.help
                }
            )
        }
    }

    /// Footer hints for `mode`, as (key, word) pairs in table order.
    static func hints(for mode: KeyMode, unicode: Bool) -> [(key: String, word: String)] {
        bindings.filter { $0.mode == mode && $0.hint != nil }.map { ($0.keys[0].label(unicode: unicode), $0.hint!) }
    }
}
