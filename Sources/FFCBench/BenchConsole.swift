// `ffc bench console`: the console's CPU cost per frame at several terminal sizes, off-screen.
import ArgumentParser
import FFCConsoleUI
import FFCEngine
import Foundation

public struct BenchConsole: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "CPU time per console frame (render + curses blit) and the share of one core at 10 Hz.")

    @Option(help: "Frames per run.") var frames = 100
    @Option(help: "Runs per size; the table shows the median.") var runs = 5
    @Option(help: "Steps of history in each snapshot (the trainer keeps a bounded window).") var history = 2000
    @Flag(help: "Print one JSON object per row.") var json = false

    /// A plausible run at `step`: decaying loss, growing instance hit rate, a full pool.
    static func snapshot(step: Int, history: Int) -> MetricsSnapshot {
        var s = MetricsSnapshot()
        s.runName = "bench"
        s.netType = "resnet-tiny"
        s.identities = 1_000_000
        s.step = step
        s.maxSteps = 100_000
        s.epochs = 10
        s.poolBytesPerSlot = 4_112
        s.history = (max(1, step - history + 1)...step).map { i in
            let t = Double(i)
            var r = StepRecord()
            r.step = i
            r.lossMargin = 20 * exp(-t / 3000) + 4 + 0.6 * sin(t * 0.7)
            r.lossOutlier = 0.4 * exp(-t / 5000) + 0.05
            r.loss = r.lossMargin + r.lossOutlier
            r.hitRatePair = 1
            r.hitRateInstance = min(0.6, t / 20_000)
            r.poolCapacity = 10_000
            r.poolOccupancy = 10_000
            r.evictions = 50 + i % 9
            r.evictionAgeMean = 160 + Double(i % 11)
            r.dualShare = 0.35
            r.lr = 0.1
            var loader = LoaderStats()
            loader.name = "identity"
            loader.ringFill = i % 4
            loader.ringCapacity = 4
            r.loaders = [loader, loader]
            r.loaders[1].name = "instance"
            return r
        }
        s.events = (0..<20).map { EventRecord(step: $0 * 100, kind: .checkpoint, message: "checkpoint \($0)") }
        return s
    }

    public init() {}

    public func run() throws {
        let sizes = [(80, 24), (120, 40), (200, 60)]
        let snapshots = (0..<frames).map { Self.snapshot(step: 10_000 + $0, history: history) }
        let load = LoadProbe.read()
        let table = TextTable([
            .init("size", 9), .init("render ms", 9, .right), .init("blit ms", 8, .right),
            .init("total ms", 9, .right), .init("core at 10 Hz", 14, .right),
        ])
        if !json {
            print(
                "console frame cost, median of \(runs) runs × \(frames) frames, history \(history) steps, load \(load)")
            print(table.header)
        }
        for (width, height) in sizes {
            var costs: [ConsoleBenchmark.FrameCost] = []
            for _ in 0..<runs {
                guard
                    let cost = MainActor.assumeIsolated({
                        ConsoleBenchmark.measure(snapshots: snapshots, width: width, height: height)
                    })
                else {
                    throw ValidationError("cannot open a curses screen on /dev/null (terminfo xterm-256color missing?)")
                }
                costs.append(cost)
            }
            let median = Harness.medianElement(costs, by: \.totalSeconds)!
            let coreShare = median.totalSeconds * 10
            if json {
                try JSONLine.print([
                    "size": "\(width)x\(height)", "render_ms": median.renderSeconds * 1000,
                    "blit_ms": median.blitSeconds * 1000, "total_ms": median.totalSeconds * 1000,
                    "core_share_10hz": coreShare, "load": load,
                ])
            } else {
                print(
                    table.line([
                        "\(width)x\(height)", String(format: "%.3f", median.renderSeconds * 1000),
                        String(format: "%.3f", median.blitSeconds * 1000),
                        String(format: "%.3f", median.totalSeconds * 1000), String(format: "%.2f%%", coreShare * 100),
                    ]))
            }
        }
    }
}
