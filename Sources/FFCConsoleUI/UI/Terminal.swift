// The terminal layer: the only code that calls curses. It opens a screen with newterm (never
// initscr, which exits on a bad TERM), copies CellCanvas frames to it (only changed cells), maps
// theme colours to what the terminal can show, and turns curses key codes into Keys.
// Every call must come from the main thread: curses is not thread-safe.
import CNcurses
import Foundation

@MainActor
final class Terminal {
    /// Where the screen lives: the process's terminal, or /dev/null for headless tests.
    enum Device {
        case tty
        case null(termName: String)
    }

    private let screen: OpaquePointer
    private let output: UnsafeMutablePointer<FILE>
    private let input: UnsafeMutablePointer<FILE>
    let depth: ColourDepth
    let unicode: Bool
    let termName: String
    private var pairs: [PairKey: Int16] = [:]
    private var pairLimit: Int
    private var previous: CellCanvas?
    private var previousTheme: Theme?

    private struct PairKey: Hashable {
        var foreground: Int
        var background: Int
    }

    /// Opens the screen; nil when the terminal type is unknown or the device cannot be opened.
    init?(device: Device, unicode: Bool, colours: Bool) {
        let out: UnsafeMutablePointer<FILE>?
        let inp: UnsafeMutablePointer<FILE>?
        var name: String?
        switch device {
        case .tty:
            out = fdopen(dup(STDOUT_FILENO), "w")
            inp = fdopen(dup(STDIN_FILENO), "r")
            name = ProcessInfo.processInfo.environment["TERM"]
            use_env(true)
        case .null(let termName):
            out = fopen("/dev/null", "w")
            inp = fopen("/dev/null", "r")
            name = termName
            // The terminfo size (80×24), not LINES/COLUMNS from whatever terminal runs the tests.
            use_env(false)
        }
        guard let out, let inp else { return nil }
        guard let name, !name.isEmpty, let scr = newterm(name, out, inp) else {
            fclose(out)
            fclose(inp)
            return nil
        }
        screen = scr
        output = out
        input = inp
        termName = name
        self.unicode = unicode
        cbreak()
        noecho()
        nonl()
        keypad(ffc_stdscr(), true)
        curs_set(0)
        set_escdelay(25)
        if colours && has_colors() {
            start_color()
            depth = ColourDepth.from(colours: Int(ffc_colors()), hasColours: true)
        } else {
            depth = .mono
        }
        pairLimit = min(Int(ffc_color_pairs()), Int(Int16.max)) - 1
    }

    /// Columns and rows of the screen now.
    var size: (width: Int, height: Int) {
        var y: Int32 = 0
        var x: Int32 = 0
        ffc_getmaxyx(ffc_stdscr(), &y, &x)
        return (Int(x), Int(y))
    }

    var description: String {
        let colours =
            switch depth {
            case .palette256: "256 colours"
            case .ansi16: "16 colours"
            case .ansi8: "8 colours"
            case .mono: "monochrome"
            }
        return "\(termName), \(colours), \(unicode ? "UTF-8" : "ASCII")"
    }

    /// Sets the screen size (headless screens, whose size is otherwise the terminfo default).
    func resize(width: Int, height: Int) {
        resizeterm(Int32(height), Int32(width))
        invalidate()
    }

    /// Forgets what is on screen, so the next draw rewrites every cell (after a resize).
    func invalidate() {
        previous = nil
        clearok(ffc_stdscr(), true)
    }

    /// Writes the cells that changed since the last frame, then refreshes.
    func draw(_ canvas: CellCanvas, theme: Theme) {
        if previousTheme != theme {
            pairs = [:]
            previousTheme = theme
            previous = nil
        }
        let full = previous.map { $0.width != canvas.width || $0.height != canvas.height } ?? true
        if full { werase(ffc_stdscr()) }
        for y in 0..<canvas.height {
            for x in 0..<canvas.width {
                let cell = canvas[x, y]
                if !full, let previous, previous[x, y] == cell { continue }
                put(cell, x: x, y: y, theme: theme)
            }
        }
        previous = canvas
        wrefresh(ffc_stdscr())
    }

    private func put(_ cell: Cell, x: Int, y: Int, theme: Theme) {
        var attributes = attributes(for: cell.role)
        var pair: Int16 = 0
        if let picture = cell.picture, depth == .palette256 {
            pair = pairNumber(ColourMapping.index256(picture.top), ColourMapping.index256(picture.bottom))
        } else if depth != .mono {
            let colours = theme.colours(for: cell.role)
            var fg = ColourMapping.index(colours.foreground, depth: depth)!
            let bg = ColourMapping.index(colours.background, depth: depth)!
            // Low colour depths can merge a role's colours; keep the text readable.
            if fg == bg {
                fg = ColourMapping.index(theme.colours(for: .text).foreground, depth: depth)!
                if fg == bg { attributes |= ffc_A_REVERSE() }
            }
            pair = pairNumber(fg, bg)
        }
        var glyph = cell.glyph
        if !unicode && !glyph.isASCII { glyph = "?" }
        if unicode {
            _ = ffc_mvwadd_wchar(ffc_stdscr(), Int32(y), Int32(x), wchar_t(bitPattern: glyph.value), attributes, pair)
        } else {
            let ch = chtype(glyph.value) | chtype(attributes) | chtype(ffc_COLOR_PAIR(Int32(pair)))
            _ = mvwaddch(ffc_stdscr(), Int32(y), Int32(x), ch)
        }
    }

    /// The colour pair for foreground and background colour numbers, created on first use.
    private func pairNumber(_ foreground: Int, _ background: Int) -> Int16 {
        let key = PairKey(foreground: foreground, background: background)
        if let n = pairs[key] { return n }
        guard pairs.count < pairLimit else { return 0 }
        let n = Int16(pairs.count + 1)
        init_pair(n, Int16(foreground), Int16(background))
        pairs[key] = n
        return n
    }

    /// Attributes that keep roles apart even without colour.
    private func attributes(for role: StyleRole) -> attr_t {
        switch role {
        case .title: return ffc_A_BOLD()
        case .bad: return ffc_A_BOLD()
        case .dim, .chartRaw: return depth == .mono ? ffc_A_DIM() : ffc_A_NORMAL()
        case .header, .selection: return depth == .mono ? ffc_A_REVERSE() : ffc_A_NORMAL()
        case .accent, .warn: return depth == .mono ? ffc_A_BOLD() : ffc_A_NORMAL()
        default: return ffc_A_NORMAL()
        }
    }

    /// The next key, waiting at most `milliseconds` (0 polls); nil when none came.
    func readKey(waitingAtMost milliseconds: Int) -> Key? {
        wtimeout(ffc_stdscr(), Int32(max(0, milliseconds)))
        let code = wgetch(ffc_stdscr())
        switch code {
        case ERR: return nil
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_ENTER, 10, 13: return .enter
        case 27: return .escape
        case KEY_BACKSPACE, 127, 8: return .backspace
        case 9: return .tab
        case KEY_RESIZE: return .resize
        case 32...126: return .char(Character(Unicode.Scalar(UInt8(code))))
        default:
            return (1...12).first { ffc_KEY_F(Int32($0)) == code }.map { .function($0) }
        }
    }

    /// Row `y` as curses holds it (for headless tests).
    func screenLine(_ y: Int) -> String {
        let width = size.width
        var buffer = [wchar_t](repeating: 0, count: width + 1)
        let n = mvwinnwstr(ffc_stdscr(), Int32(y), 0, &buffer, Int32(width))
        let scalars = buffer.prefix(max(0, Int(n))).compactMap { Unicode.Scalar(UInt32(bitPattern: $0)) }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Restores the terminal and frees the screen.
    func close() {
        endwin()
        delscreen(screen)
        fclose(output)
        fclose(input)
    }
}
