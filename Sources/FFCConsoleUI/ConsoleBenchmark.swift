// The console's own cost, measured off-screen: frames rendered into the canvas and copied to a
// curses screen on /dev/null, timed by the thread's CPU clock (what the UI thread would use).
import FFCEngine
import Foundation

public enum ConsoleBenchmark {
    /// CPU seconds per frame for one pass over `snapshots` at `width` × `height`.
    public struct FrameCost: Sendable {
        /// Rendering panels into the cell canvas.
        public var renderSeconds: Double
        /// Copying changed cells to curses and refreshing.
        public var blitSeconds: Double
        public var totalSeconds: Double { renderSeconds + blitSeconds }
    }

    /// Renders and blits every snapshot once (each a frame); nil when no curses screen can be opened.
    @MainActor
    public static func measure(snapshots: [MetricsSnapshot], width: Int, height: Int) -> FrameCost? {
        guard !snapshots.isEmpty,
            let terminal = Terminal(device: .null(termName: "xterm-256color"), unicode: true, colours: true)
        else { return nil }
        defer { terminal.close() }
        terminal.resize(width: width, height: height)
        let controller = ConsoleController(source: FixedSource(snapshots[0]), theme: .default)
        controller.screenSize = (width, height)
        var canvas = CellCanvas(width: width, height: height)
        var render = 0.0
        var blit = 0.0
        for snapshot in snapshots {
            let t0 = CPUTime.thread()
            controller.update(snapshot)
            controller.render(snapshot, into: &canvas, context: .unicode)
            let t1 = CPUTime.thread()
            terminal.draw(canvas, theme: controller.theme)
            let t2 = CPUTime.thread()
            render += t1 - t0
            blit += t2 - t1
        }
        let n = Double(snapshots.count)
        return FrameCost(renderSeconds: render / n, blitSeconds: blit / n)
    }

    /// A source that only hands out one snapshot; the benchmark passes frames to the renderer directly.
    private final class FixedSource: ConsoleSource {
        let fixed: MetricsSnapshot
        init(_ snapshot: MetricsSnapshot) { fixed = snapshot }
        func snapshot() -> MetricsSnapshot { fixed }
        func send(_ command: TrainerCommand) {}
        func inspect(sort: PoolSortKey, offset: Int, limit: Int) -> [PoolSlotInfo] { [] }
        func lookup(identity: Int) -> PoolSlotInfo? { nil }
        func sampleImage(identity: Int) -> (width: Int, height: Int, rgb: [UInt8])? { nil }
    }
}
