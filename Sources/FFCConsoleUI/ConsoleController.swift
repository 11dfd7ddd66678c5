import FFCEngine
// The console's view state and behaviour without a terminal: keys in, commands to the source,
// frames out into a CellCanvas. Console.run drives it from curses; tests drive it directly.
import Foundation

enum Overlay: Equatable {
    case none, help, quit
    case prompt(Prompt)
    case inspector
}

final class ConsoleController {
    let source: ConsoleSource
    /// Seconds on a monotonic clock; tests inject a manual one.
    let now: () -> Double
    private let themeDirectories: [String]

    private(set) var theme: Theme
    private(set) var themeNames: [String]
    private var themeIndex = 0
    var window = ChartWindow()
    var chartStyle: ChartStyle?
    var overlay: Overlay = .none
    var inspector = PoolInspectorState()
    var showDebug = false
    var stats = FrameStats()
    /// Size of the canvas frames are drawn into; the inspector pages by it.
    var screenSize = (width: Layout.minimumWidth, height: Layout.minimumHeight)
    private(set) var status: (text: String, role: StyleRole, until: Double)?
    /// Wall time of the newest `.refused` event already reported; nil before the first snapshot.
    private var newestRefusal: Double?

    /// How long the inspector's rows stay fresh before they are fetched again.
    static let inspectorRefreshSeconds = 0.5
    static let statusSeconds = 8.0

    init(
        source: ConsoleSource, theme themeName: ThemeName, themeDirectories: [String] = ThemeLoader.searchDirectories(),
        now: @escaping () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) {
        self.source = source
        self.now = now
        self.themeDirectories = themeDirectories
        themeNames = ThemeLoader.available(searching: themeDirectories)
        let (loaded, error) = ThemeLoader.loadOrDefault(themeName, searching: themeDirectories)
        theme = loaded
        if !themeNames.contains(themeName.value) && !themeName.looksLikePath { themeNames.append(themeName.value) }
        themeIndex = themeNames.firstIndex(of: themeName.value) ?? 0
        if let error { setStatus(error.description + "; using the default theme", role: .bad) }
    }

    func setStatus(_ text: String, role: StyleRole, seconds: Double = statusSeconds) {
        status = (text, role, now() + seconds)
    }

    var mode: KeyMode { overlay == .inspector ? .inspector : .main }

    // MARK: frame update

    /// Per-frame bookkeeping before drawing: refusals to report, status expiry, inspector rows.
    func update(_ snapshot: MetricsSnapshot) {
        let refusals = snapshot.events.filter { $0.kind == .refused }
        if let seen = newestRefusal {
            if let fresh = refusals.last(where: { $0.wallTime > seen }) {
                setStatus("refused: \(fresh.message)", role: .bad)
                newestRefusal = fresh.wallTime
            }
        } else {
            newestRefusal = refusals.map(\.wallTime).max() ?? -.infinity
        }
        if let s = status, s.until <= now() { status = nil }
        if overlay == .inspector && now() - inspector.fetchedAt >= Self.inspectorRefreshSeconds {
            fetchInspectorRows(snapshot)
        }
    }

    private var inspectorVisibleRows: Int {
        Layout.make(width: screenSize.width, height: screenSize.height).map {
            PoolInspectorView.visibleRows(body: $0.body)
        } ?? 1
    }

    private func fetchInspectorRows(_ snapshot: MetricsSnapshot) {
        let count = snapshot.latest?.poolOccupancy ?? 0
        inspector.move(by: 0, count: count, visible: inspectorVisibleRows)
        inspector.rows = source.inspect(sort: inspector.sort, offset: inspector.top, limit: inspectorVisibleRows)
        inspector.fetchedTop = inspector.top
        inspector.fetchedAt = now()
        if let d = inspector.detail, let fresh = source.lookup(identity: d.identity) { inspector.detail = fresh }
    }

    // MARK: keys

    /// Handles one key; returns how the console ends when the key ends it.
    func handle(_ key: Key, snapshot: MetricsSnapshot) -> ConsoleExit? {
        switch overlay {
        case .help:
            overlay = .none
        case .quit:
            switch key {
            case .char("s"):
                source.send(.stop)
                return .stopRun
            case .char("d"):
                return .detach
            case .escape, .char("n"), .char("q"):
                overlay = .none
            default:
                break
            }
        case .prompt(var prompt):
            if let done = edit(&prompt, key: key) {
                overlay = .none
                if done { apply(prompt) }
            } else {
                overlay = .prompt(prompt)
            }
        case .inspector:
            handleInspector(key, snapshot: snapshot)
        case .none:
            guard let action = KeyTable.action(for: key, in: .main) else { return nil }
            return perform(action, snapshot: snapshot)
        }
        return nil
    }

    /// Edits a prompt; returns nil while editing, true on Enter with a valid value, false on Esc.
    private func edit(_ prompt: inout Prompt, key: Key) -> Bool? {
        switch key {
        case .escape:
            return false
        case .backspace:
            if !prompt.input.isEmpty { prompt.input.removeLast() }
            prompt.error = nil
        case .enter:
            let valid = prompt.kind == .learningRate ? prompt.real != nil : prompt.integer != nil
            if valid { return true }
            prompt.error = prompt.kind == .learningRate ? "not a positive number" : "not a positive whole number"
        case .char(let c) where prompt.kind.accepts(c) && prompt.input.count < 16:
            prompt.input.append(c)
            prompt.error = nil
        default:
            break
        }
        return nil
    }

    private func apply(_ prompt: Prompt) {
        guard let submission = prompt.submission else { return }
        source.send(submission.command)
        setStatus(submission.status, role: .accent)
    }

    private func perform(_ action: KeyAction, snapshot: MetricsSnapshot) -> ConsoleExit? {
        switch action {
        case .quit:
            if snapshot.finished { return .finished }
            overlay = .quit
        case .pauseResume:
            source.send(snapshot.paused ? .resume : .pause)
            setStatus(snapshot.paused ? "resuming" : "pausing after this step", role: .accent, seconds: 3)
        case .setQueueSize:
            overlay = .prompt(Prompt(kind: .queueSize))
        case .setLearningRate:
            overlay = .prompt(Prompt(kind: .learningRate))
        case .checkpoint:
            source.send(.checkpointNow)
            setStatus("checkpoint requested", role: .accent, seconds: 3)
        case .openInspector:
            overlay = .inspector
            inspector.fetchedAt = -.infinity
            fetchInspectorRows(snapshot)
        case .nextTheme:
            nextTheme()
        case .toggleLogScale:
            window.logScale.toggle()
        case .zoomIn:
            window.zoomIn()
        case .zoomOut:
            window.zoomOut()
        case .nextChartStyle:
            let all = ChartStyle.allCases
            let current = chartStyle ?? .braille
            chartStyle = all[(all.firstIndex(of: current)! + 1) % all.count]
        case .help:
            overlay = .help
        case .debug:
            showDebug.toggle()
        case .moveUp, .moveDown, .pageUp, .pageDown, .first, .last, .nextSort, .find, .detail, .close:
            break
        }
        return nil
    }

    private func nextTheme() {
        themeIndex = (themeIndex + 1) % themeNames.count
        let name = themeNames[themeIndex]
        let (loaded, error) = ThemeLoader.loadOrDefault(ThemeName(name), searching: themeDirectories)
        theme = loaded
        if let error {
            setStatus(error.description + "; using the default theme", role: .bad)
        } else {
            setStatus("theme: \(loaded.name)", role: .accent, seconds: 2)
        }
    }

    private func handleInspector(_ key: Key, snapshot: MetricsSnapshot) {
        if var find = inspector.find {
            if let done = edit(&find, key: key) {
                inspector.find = nil
                if done { showDetail(identity: find.integer!) }
            } else {
                inspector.find = find
            }
            return
        }
        if inspector.detail != nil {
            if [.escape, .enter, .backspace, .char("q"), .left].contains(key) {
                inspector.detail = nil
                inspector.picture = nil
            }
            return
        }
        guard let action = KeyTable.action(for: key, in: .inspector) else { return }
        let count = snapshot.latest?.poolOccupancy ?? 0
        let page = inspectorVisibleRows
        let previousTop = inspector.top
        switch action {
        case .moveUp: inspector.move(by: -1, count: count, visible: page)
        case .moveDown: inspector.move(by: 1, count: count, visible: page)
        case .pageUp: inspector.move(by: -page, count: count, visible: page)
        case .pageDown: inspector.move(by: page, count: count, visible: page)
        case .first: inspector.move(by: -count, count: count, visible: page)
        case .last: inspector.move(by: count, count: count, visible: page)
        case .nextSort: inspector.nextSort()
        case .find: inspector.find = Prompt(kind: .findIdentity)
        case .detail:
            if let row = inspector.selectedRow { showDetail(identity: row.identity) }
        case .close: overlay = .none
        default: break
        }
        if inspector.top != previousTop || inspector.fetchedAt == -.infinity { fetchInspectorRows(snapshot) }
    }

    private func showDetail(identity: Int) {
        guard let info = source.lookup(identity: identity) else {
            setStatus("identity \(identity) is not in the pool", role: .warn)
            return
        }
        inspector.detail = info
        inspector.picture = source.sampleImage(identity: identity).map {
            HalfBlockPicture(width: $0.width, height: $0.height, rgb: $0.rgb)
        }
    }

    // MARK: drawing

    /// Draws one frame of `snapshot` into `canvas` (the whole canvas).
    func render(_ snapshot: MetricsSnapshot, into canvas: inout CellCanvas, context base: RenderContext) {
        let context =
            chartStyle.map { RenderContext(glyphs: base.glyphs, chartStyle: $0, pictures: base.pictures) } ?? base
        canvas.fill(canvas.bounds)
        guard let layout = Layout.make(width: canvas.width, height: canvas.height) else {
            TooSmallMessage.draw(into: &canvas, context: context)
            return
        }
        HeaderPanel(snapshot: snapshot).draw(into: &canvas, rect: layout.header, context: context)
        LossPanel(snapshot: snapshot, window: window).draw(into: &canvas, rect: layout.loss, context: context)
        HitRatePanel(snapshot: snapshot, window: window).draw(into: &canvas, rect: layout.hitRate, context: context)
        LRUPanel(snapshot: snapshot, window: window).draw(into: &canvas, rect: layout.lru, context: context)
        LoaderPanel(snapshot: snapshot).draw(into: &canvas, rect: layout.loaders, context: context)
        EventsPanel(snapshot: snapshot).draw(into: &canvas, rect: layout.events, context: context)
        ValidationPanel(snapshot: snapshot).draw(into: &canvas, rect: layout.validation, context: context)
        FooterBar(mode: mode, status: status.map { ($0.text, $0.role) }).draw(
            into: &canvas, rect: layout.footer, context: context)
        switch overlay {
        case .none: break
        case .help: HelpOverlay.draw(into: &canvas, screen: layout.body, context: context)
        case .quit: QuitDialog.draw(into: &canvas, screen: layout.body, context: context)
        case .prompt(let p): p.draw(into: &canvas, screen: layout.body, snapshot: snapshot, context: context)
        case .inspector:
            PoolInspectorView(state: inspector, occupancy: snapshot.latest?.poolOccupancy ?? 0)
                .draw(into: &canvas, body: layout.body, snapshot: snapshot, context: context)
        }
        if showDebug { DebugOverlay.draw(into: &canvas, screen: layout.body, stats: stats, context: context) }
    }
}
