// The console's entry point and loop: locale, signals, the curses screen, ~10 frames a second
// of snapshot → canvas → terminal, keys in between, and the UI thread's own CPU cost.
import Dispatch
import FFCEngine
import Foundation
import Synchronization

/// Console settings a command line can set.
public struct ConsoleOptions: Sendable {
    /// Box and chart characters: nil decides from the locale (UTF-8 or not).
    public var unicode: Bool?
    public var chartStyle: ChartStyle
    /// False shows no colours even on a colour terminal (e.g. when NO_COLOR is set).
    public var colours: Bool
    public var framesPerSecond: Double

    public init(
        unicode: Bool? = nil, chartStyle: ChartStyle = .braille,
        colours: Bool = ProcessInfo.processInfo.environment["NO_COLOR"] == nil, framesPerSecond: Double = 10
    ) {
        self.unicode = unicode
        self.chartStyle = chartStyle
        self.colours = colours
        self.framesPerSecond = framesPerSecond
    }
}

/// Why the console could not start.
public enum ConsoleError: Error, Equatable, CustomStringConvertible {
    /// stdin or stdout is not a terminal (run headless instead).
    case notATerminal
    /// curses does not know the terminal type.
    case unknownTerminal(term: String?)

    public var description: String {
        switch self {
        case .notATerminal: "the console needs a terminal on stdin and stdout"
        case .unknownTerminal(let term): "cannot open terminal type '\(term ?? "(TERM unset)")'"
        }
    }
}

/// Signals that end the console, seen by Dispatch sources and read by the UI loop.
final class SignalLatch: Sendable {
    private let latest = Mutex<Int32?>(nil)
    func raise(_ signal: Int32) { latest.withLock { $0 = $0 ?? signal } }
    func take() -> Int32? {
        latest.withLock { s in
            defer { s = nil }
            return s
        }
    }
}

/// Ignores `signals` (before newterm, so curses installs no exit-on-signal handlers of its own)
/// and reports them to a latch from Dispatch sources; `restore` puts the old dispositions back.
/// Built outside the main actor: the handlers run on a Dispatch worker.
final class SignalWatch {
    let latch = SignalLatch()
    private let signals: [Int32]
    private let previous: [sighandler_t?]
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32]) {
        self.signals = signals
        previous = signals.map { signal($0, SIG_IGN) }
        let latch = latch
        sources = signals.map { sig in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { @Sendable in latch.raise(sig) }
            source.resume()
            return source
        }
    }

    func restore() {
        sources.forEach { $0.cancel() }
        for (sig, handler) in zip(signals, previous) { signal(sig, handler) }
    }
}

public enum Console {
    /// Whether stdin and stdout are terminals, i.e. whether `run` can open a console here.
    public static var isInteractive: Bool { isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0 }

    /// Shows the live console for `source` until the user quits; returns how it ended.
    /// Call on the main thread with stdout on the terminal (not redirected). Ctrl-C and SIGTERM
    /// send `.stop` and return `.stopRun`; SIGHUP (the terminal went away) returns `.detach`.
    /// Signal dispositions for SIGINT, SIGTERM and SIGHUP are restored before returning.
    public static func run(
        source: ConsoleSource, theme: ThemeName = .default,
        options: ConsoleOptions = ConsoleOptions()
    ) throws(ConsoleError) -> ConsoleExit {
        precondition(Thread.isMainThread, "Console.run must be called on the main thread (curses is not thread-safe)")
        guard isInteractive else { throw .notATerminal }
        let unicode = options.unicode ?? selectLocale()
        let watch = SignalWatch(signals: [SIGINT, SIGTERM, SIGHUP])
        defer { watch.restore() }
        let latch = watch.latch
        let result: Result<ConsoleExit, ConsoleError> = MainActor.assumeIsolated {
            guard let terminal = Terminal(device: .tty, unicode: unicode, colours: options.colours) else {
                return .failure(.unknownTerminal(term: ProcessInfo.processInfo.environment["TERM"]))
            }
            defer { terminal.close() }
            let controller = ConsoleController(source: source, theme: theme)
            if options.chartStyle != .braille { controller.chartStyle = options.chartStyle }
            return .success(loop(terminal: terminal, controller: controller, latch: latch, options: options))
        }
        return try result.get()
    }

    /// Sets the C locale from the environment; returns whether text can be UTF-8.
    /// With no locale set at all, C.UTF-8 is used (terminals reached over SSH often send none).
    static func selectLocale() -> Bool {
        setlocale(LC_ALL, "")
        if isUTF8Locale() { return true }
        let env = ProcessInfo.processInfo.environment
        let chosen = ["LC_ALL", "LC_CTYPE", "LANG"].contains { !(env[$0] ?? "").isEmpty }
        if chosen { return false }
        setlocale(LC_ALL, "C.UTF-8")
        return isUTF8Locale()
    }

    private static func isUTF8Locale() -> Bool {
        guard let codeset = nl_langinfo(nl_item(CODESET)) else { return false }
        let name = String(cString: codeset).uppercased()
        return name == "UTF-8" || name == "UTF8"
    }

    @MainActor
    static func loop(terminal: Terminal, controller: ConsoleController, latch: SignalLatch, options: ConsoleOptions)
        -> ConsoleExit
    {
        let frameSeconds = 1 / max(1, options.framesPerSecond)
        let context = RenderContext(
            glyphs: terminal.unicode ? .unicode : .ascii, chartStyle: options.chartStyle,
            pictures: terminal.depth == .palette256)
        controller.stats.terminalDescription = terminal.description
        var size = terminal.size
        var canvas = CellCanvas(width: size.width, height: size.height)
        var windowStart = (wall: controller.now(), cpu: CPUTime.thread(), frames: 0)
        while true {
            if let sig = latch.take() {
                if sig == SIGHUP { return .detach }
                controller.source.send(.stop)
                return .stopRun
            }
            let frameStart = controller.now()
            let snapshot = controller.source.snapshot()
            controller.screenSize = size
            controller.update(snapshot)
            controller.render(snapshot, into: &canvas, context: context)
            terminal.draw(canvas, theme: controller.theme)
            let drawn = controller.now()
            controller.stats.record(drawSeconds: drawn - frameStart)
            windowStart.frames += 1
            if drawn - windowStart.wall >= 2 {
                let cpu = CPUTime.thread()
                controller.stats.cpuShare = (cpu - windowStart.cpu) / (drawn - windowStart.wall)
                controller.stats.framesPerSecond = Double(windowStart.frames) / (drawn - windowStart.wall)
                windowStart = (drawn, cpu, 0)
            }
            // Wait for a key until the next frame is due; a key redraws at once.
            let remaining = frameSeconds - (controller.now() - frameStart)
            if let key = terminal.readKey(waitingAtMost: Int(max(0, remaining) * 1000)) {
                if key == .resize {
                    size = terminal.size
                    canvas = CellCanvas(width: size.width, height: size.height)
                    terminal.invalidate()
                } else if let exit = controller.handle(key, snapshot: snapshot) {
                    return exit
                }
            }
        }
    }
}
