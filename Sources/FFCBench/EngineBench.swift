// `ffc bench engine`: training-step and inference images/s of the backbones at 1 and 2
// threads, side by side with PyTorch running the same architectures on the same CPU
// (tools/reference/engine_bench.py as a subprocess), plus the sgemm peak (the best of a few
// conv-like shapes, timed right before and after each row) and the share of it the dense
// convolutions reach; optionally each convolution's time and GFLOP/s, and resident memory
// early and late in a long run (`--steps 1000`). `--conv` times one convolution alone, the
// microbenchmark for A/B runs of the convolution code.
import ArgumentParser
import FFCEngine
import Foundation

public struct EngineBench: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Backbone train/infer images/s vs PyTorch, and the convolutions' share of sgemm peak.")

    @Flag(help: "One timed step per row instead of five.") var quick = false
    @Flag(help: "Print one JSON object per row instead of a table.") var json = false
    @Option(help: "Comma-separated backbones (batch 64 for mobilefacenet and tiny, 32 otherwise).")
    var models = "mobilefacenet,ir18,ir50"
    @Option(help: "Comma-separated thread counts.") var threads = "1,2"
    @Option(help: "Comma-separated modes: train, infer.") var modes = "train,infer"
    @Option(
        help:
            "Timed steps per row (overrides --quick); resident memory is sampled after a tenth of them and at the end.")
    var steps: Int?
    @Flag(
        help:
            "After each row, the milliseconds per step each kind of layer took (forward, backward), then every convolution's milliseconds and GFLOP/s."
    )
    var layers = false
    @Flag(help: "Do not run the PyTorch reference.") var noPytorch = false
    @Option(help: "The PyTorch reference script; rows say n/a when it or torch is missing.")
    var reference = "tools/reference/engine_bench.py"
    @Option(help: "Python interpreter with torch.") var python = "python3"
    @Option(
        help:
            "Rounds per row, alternating our timed steps and PyTorch's; each side reports its median round (steadier ratios on a shared machine)."
    )
    var rounds = 1

    @Option(
        help:
            "Time one convolution instead of backbones: Cin,Cout,kernel,stride,side (batch 32, padding kernel/2); prints the fastest of --steps forward and backward passes."
    )
    var conv: String?

    public init() {}

    /// The best sgemm timing: its GFLOP/s and shape.
    typealias Peak = (gflops: Double, shape: BLAS.GEMMShape)

    /// What the flags ask for: backbones, thread counts, modes and timed steps per row.
    struct Plan {
        var names: [String]
        var threadCounts: [Int]
        var modes: [BackboneBenchmark.Mode]
        var runs: Int
    }

    /// One row's measurements: our result and PyTorch's rate in each round, and the sgemm peak
    /// timed before and after our runs (best of each).
    struct Row {
        var name: String
        var mode: BackboneBenchmark.Mode
        var threads: Int
        var batch: Int
        var size: Int
        var results: [BackboneBenchmark.Result]
        var theirRates: [Double]
        var before: Peak
        var after: Peak
        var profile: LayerProfile?

        /// Our median round.
        var ours: BackboneBenchmark.Result {
            Harness.medianElement(results, by: \.imagesPerSecond)!
        }
        var theirs: Double? { theirRates.isEmpty ? nil : Harness.median(theirRates) }
        var best: Peak { after.gflops > before.gflops ? after : before }
        var peak: Double { best.gflops }
        var ratio: Double? { theirs.map { ours.imagesPerSecond / $0 } }
        var share: Double { ours.convolutionGFLOPs / peak }
        var roundRatios: [Double] { zip(results, theirRates).map { $0.imagesPerSecond / $1 } }
    }

    public func run() throws {
        if let conv {
            try timeConvolution(conv)
            return
        }
        let plan = try self.plan()
        guard rounds >= 1 else { throw ValidationError("--rounds \(rounds): must be at least 1") }
        let pytorch = PyTorchReference(python: noPytorch ? nil : python, script: reference)
        let load = LoadProbe.read()
        if !json { printHeader(runs: plan.runs, load: load, pytorch: pytorch.available) }
        for threadCount in plan.threadCounts {
            BLAS.threads = threadCount
            for name in plan.names {
                for mode in plan.modes {
                    let row = try measure(name, mode: mode, threads: threadCount, runs: plan.runs, pytorch: pytorch)
                    if json {
                        try JSONLine.print(jsonObject(row, runs: plan.runs, load: load))
                    } else {
                        printRow(row, runs: plan.runs)
                    }
                }
            }
        }
    }

    /// The flags checked and split into lists.
    private func plan() throws -> Plan {
        let names = models.split(separator: ",").map(String.init)
        for name in names where !Backbone.names.contains(name) {
            throw ValidationError("unknown backbone '\(name)'; known: \(Backbone.names.joined(separator: ", "))")
        }
        let modeList = try modes.split(separator: ",").map { text in
            guard let mode = BackboneBenchmark.Mode(rawValue: String(text)) else {
                throw ValidationError("unknown mode '\(text)'; known: train, infer")
            }
            return mode
        }
        return Plan(
            names: names, threadCounts: threads.split(separator: ",").compactMap { Int($0) }, modes: modeList,
            runs: steps ?? (quick ? 1 : 5))
    }

    /// Rounds alternate our run and PyTorch's, so both see the same neighbours; each side's
    /// figure is its median over the rounds. The sgemm peak is timed right before and right
    /// after each of our runs, best of all: on a shared machine a single timing swings with the
    /// neighbours' load.
    private func measure(
        _ name: String, mode: BackboneBenchmark.Mode, threads threadCount: Int, runs: Int, pytorch: PyTorchReference
    ) throws -> Row {
        let batch = name == "mobilefacenet" || name == "tiny" ? 64 : 32
        let size = Backbone.defaultInputSize(name: name)
        let profile = layers ? LayerProfile() : nil
        var results: [BackboneBenchmark.Result] = []
        var theirRates: [Double] = []
        var before = BLAS.measurePeak()
        var after = before
        for round in 0..<rounds {
            if round > 0 {
                let again = BLAS.measurePeak()
                if again.gflops > before.gflops { before = again }
            }
            results.append(
                try BackboneBenchmark(model: name, mode: mode, batch: batch, inputSize: size).run(
                    runs: runs, profile: profile))
            let end = BLAS.measurePeak()
            if round == 0 || end.gflops > after.gflops { after = end }
            if let rate = pytorch.imagesPerSecond(
                model: name, mode: mode.rawValue, batch: batch, threads: threadCount, size: size, runs: runs)
            {
                theirRates.append(rate)
            }
        }
        return Row(
            name: name, mode: mode, threads: threadCount, batch: batch, size: size, results: results,
            theirRates: theirRates, before: before, after: after, profile: profile)
    }

    /// The table's columns (each cell keeps at least one space on its padding side).
    private static let table = TextTable(
        [
            .init("model", 15), .init("mode", 7), .init("thr", 4, .right), .init("batch", 7, .right),
            .init("img/s", 10, .right), .init("pytorch", 10, .right), .init("ratio", 8, .right),
            .init("sgemm GF/s", 12, .right), .init("conv GF/s", 11, .right), .init("conv %peak", 11, .right),
            .init("conv %time", 11, .right), .init("RSS MiB early→late", 20, .right),
        ], separator: "", minimumFill: 1)

    private func printHeader(runs: Int, load: String, pytorch: Bool) {
        print(
            "OpenBLAS \(BLAS.coreName), \(EngineTuning.current.summary); load average \(load); median of \(runs) step(s) after a warm-up, \(rounds) round(s); PyTorch: \(pytorch ? "yes" : "n/a")"
        )
        print(Self.table.header)
    }

    /// One table row, the peak line under it, and with `--layers` the breakdowns.
    private func printRow(_ row: Row, runs: Int) {
        let ours = row.ours
        print(
            Self.table.line([
                row.name, row.mode.rawValue, "\(row.threads)", "\(row.batch)",
                String(format: "%.2f", ours.imagesPerSecond), row.theirs.map { String(format: "%.2f", $0) } ?? "n/a",
                row.ratio.map { String(format: "%.2f×", $0) } ?? "n/a", String(format: "%.1f", row.peak),
                String(format: "%.1f", ours.convolutionGFLOPs), String(format: "%.0f%%", 100 * row.share),
                String(format: "%.0f%%", 100 * ours.convolutionTimeShare),
                String(
                    format: "%.0f→%.0f", mebibytes(ours.residentBytesEarly), mebibytes(ours.residentBytesLate)),
            ]))
        print("    " + peakNote(row))
        if let profile = row.profile {
            printLayerBreakdown(profile, runs: runs * rounds, stepSeconds: ours.stepSeconds)
            printConvolutions(ours, peak: row.peak)
        }
    }

    /// Which sgemm timing gave the peak, and with several rounds each round's figures.
    private func peakNote(_ row: Row) -> String {
        var note = String(
            format: "sgemm peak %.1f GF/s at %@ %@ the row (before %.1f, after %.1f)", row.peak,
            row.best.shape.description, row.after.gflops > row.before.gflops ? "after" : "before", row.before.gflops,
            row.after.gflops)
        guard rounds > 1 else { return note }
        note +=
            "; rounds: ours " + row.results.map { String(format: "%.2f", $0.imagesPerSecond) }.joined(separator: ", ")
        if !row.theirRates.isEmpty {
            note +=
                ", PyTorch " + row.theirRates.map { String(format: "%.2f", $0) }.joined(separator: ", ") + ", ratios "
                + row.roundRatios.map { String(format: "%.2f×", $0) }.joined(separator: ", ")
        }
        return note
    }

    /// The `--json` object of one row.
    private func jsonObject(_ row: Row, runs: Int, load: String) -> [String: Any] {
        let ours = row.ours
        var object: [String: Any] = [
            "model": row.name, "mode": row.mode.rawValue, "threads": row.threads, "batch": row.batch,
            "input": row.size, "img_per_s": ours.imagesPerSecond, "sgemm_peak_gflops": row.peak,
            "sgemm_peak_shape": row.best.shape.description, "sgemm_peak_before_gflops": row.before.gflops,
            "sgemm_peak_after_gflops": row.after.gflops, "conv_gflops": ours.convolutionGFLOPs,
            "conv_share_of_peak": row.share, "conv_time_share": ours.convolutionTimeShare, "load_average": load,
            "step_seconds": ours.stepSeconds, "steps": runs, "rounds": rounds,
            "rss_early_bytes": ours.residentBytesEarly, "rss_late_bytes": ours.residentBytesLate,
        ]
        if layers {
            object["convolutions"] = ours.convolutions.map { c -> [String: Any] in
                [
                    "path": c.path, "layer": c.summary, "forward_ms": 1000 * c.forwardSeconds,
                    "backward_ms": 1000 * c.backwardSeconds, "gflops": c.gflops,
                ]
            }
        }
        object["pytorch_img_per_s"] = row.theirs ?? NSNull()
        object["ratio_vs_pytorch"] = row.ratio ?? NSNull()
        if rounds > 1 {
            object["rounds_img_per_s"] = row.results.map(\.imagesPerSecond)
            object["rounds_pytorch_img_per_s"] = row.theirRates
            object["rounds_ratio_vs_pytorch"] = row.roundRatios
        }
        if let profile = row.profile {
            object["layers_ms_per_step"] = profile.entries.mapValues {
                [
                    "forward": 1000 * $0.forwardSeconds / Double(runs * rounds),
                    "backward": 1000 * $0.backwardSeconds / Double(runs * rounds),
                ]
            }
        }
        return object
    }

    /// The fastest forward and backward of one convolution at each thread count: ours, then
    /// oneDNN's fp32 and bf16 on the same shape (`OneDNNConvolution`), where this CPU has them.
    private func timeConvolution(_ spec: String) throws {
        let v = spec.split(separator: ",").compactMap { Int($0) }
        guard v.count == 5 else { throw ValidationError("--conv wants Cin,Cout,kernel,stride,side, got '\(spec)'") }
        let layer = Conv2D(v[0], v[1], kernel: v[2], stride: v[3], padding: v[2] / 2)
        let x = Tensor(shape: [32, v[4], v[4], v[0]])
        for i in 0..<x.count { x[i] = Float(i % 13) * 0.01 }
        let shape = OneDNNConvolution.Shape(
            batch: 32, inChannels: v[0], outChannels: v[1], kernel: v[2], stride: v[3], side: v[4])
        let multiplyAdds = Double(layer.multiplyAdds(x.shape))
        let repeats = steps ?? 10
        let table = TextTable(
            [
                .init("convolution", 22), .init("thr", 4, .right), .init("engine", 14), .init("fwd ms", 9, .right),
                .init("fwd GF/s", 9, .right), .init("bwd ms", 9, .right), .init("bwd GF/s", 9, .right),
                .init("implementation", 40),
            ], separator: "  ")
        if !json { print(table.header) }
        let name = "\(layer.summary) \(v[4])x\(v[4])"
        func emit(_ threads: Int, _ engine: String, _ forward: Double?, _ backward: Double?, _ note: String) throws {
            if json {
                var object: [String: Any] = [
                    "bench": "conv", "convolution": name, "batch": 32, "threads": threads, "engine": engine,
                    "implementation": note, "load_average": LoadProbe.read(),
                ]
                if let forward, let backward {
                    object["forward_ms"] = 1000 * forward
                    object["forward_gflops"] = 2 * multiplyAdds / forward / 1e9
                    object["backward_ms"] = 1000 * backward
                    object["backward_gflops"] = 4 * multiplyAdds / backward / 1e9
                }
                try JSONLine.print(object)
                return
            }
            func cells(_ seconds: Double?, _ flops: Double) -> [String] {
                guard let seconds else { return ["-", "-"] }
                return [String(format: "%.1f", 1000 * seconds), String(format: "%.1f", flops / seconds / 1e9)]
            }
            print(
                table.line(
                    [name, "\(threads)", engine] + cells(forward, 2 * multiplyAdds) + cells(backward, 4 * multiplyAdds)
                        + [note]))
        }
        for threadCount in threads.split(separator: ",").compactMap({ Int($0) }) {
            BLAS.threads = threadCount
            var (forward, backward) = (Double.infinity, Double.infinity)
            for _ in 0...repeats {
                layer.resetProfile()
                let y = layer.forward(x, training: true)
                _ = layer.backward(y)
                forward = min(forward, layer.profileForwardSeconds)
                backward = min(backward, layer.profileBackwardSeconds)
            }
            try emit(threadCount, "ffc fp32", forward, backward, "im2col + OpenBLAS sgemm")
            for precision in OneDNNConvolution.Precision.allCases {
                switch OneDNNConvolution.time(shape, precision: precision, threads: threadCount, repeats: repeats) {
                case .success(let t):
                    try emit(threadCount, "oneDNN \(precision)", t.forward, t.backward, t.implementations)
                case .failure(let error):
                    try emit(threadCount, "oneDNN \(precision)", nil, nil, error.message)
                }
            }
        }
    }

    private func mebibytes(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }

    /// Each convolution's mean milliseconds per step and its share of the sgemm peak.
    private func printConvolutions(_ result: BackboneBenchmark.Result, peak: Double) {
        let table = TextTable(
            [
                .init("path", 28), .init("layer", 24), .init("fwd", 15, .right), .init("bwd", 15, .right),
                .init("GF/s", 13, .right), .init("%peak", 6, .right),
            ], separator: "", minimumFill: 1, indent: "    ")
        for c in result.convolutions {
            print(
                table.line([
                    c.path, c.summary, String(format: "fwd %.1f ms", 1000 * c.forwardSeconds),
                    String(format: "bwd %.1f ms", 1000 * c.backwardSeconds), String(format: "%.1f GF/s", c.gflops),
                    String(format: "%.0f%%", 100 * c.gflops / peak),
                ]))
        }
    }
}

/// The `--layers` lines under a row: per kind of layer, milliseconds per step forward and
/// backward and the share of the (median) step, slowest first.
private func printLayerBreakdown(_ profile: LayerProfile, runs: Int, stepSeconds: Double) {
    let perStep = 1000 / Double(max(1, runs))
    let rows = profile.entries.sorted {
        $0.value.forwardSeconds + $0.value.backwardSeconds > $1.value.forwardSeconds + $1.value.backwardSeconds
    }
    let table = TextTable(
        [
            .init("layer kind", 20), .init("fwd ms", 10, .right), .init("bwd ms", 10, .right),
            .init("% step", 9, .right),
        ],
        separator: "", minimumFill: 1, indent: "    ")
    print(table.header)
    for (kind, entry) in rows {
        let total = entry.forwardSeconds + entry.backwardSeconds
        print(
            table.line([
                kind, String(format: "%.1f", entry.forwardSeconds * perStep),
                String(format: "%.1f", entry.backwardSeconds * perStep),
                String(format: "%.1f", 100 * total / Double(max(1, runs)) / stepSeconds),
            ]))
    }
}

/// Runs tools/reference/engine_bench.py for one row; nil when Python, torch or the script
/// is missing or the run fails.
struct PyTorchReference {
    let reference: PythonReference
    let available: Bool

    /// `python` nil: the reference is switched off and every row says n/a.
    init(python: String?, script: String) {
        reference = PythonReference(python: python ?? "", script: script)
        available =
            python != nil && reference.scriptExists
            && PythonReference.execute(reference.python, ["-c", "import torch"])?.status == 0
    }

    func imagesPerSecond(model: String, mode: String, batch: Int, threads: Int, size: Int, runs: Int) -> Double? {
        guard available else { return nil }
        return reference.lastObject([
            "--model", model, "--mode", mode, "--batch", "\(batch)", "--threads", "\(threads)", "--size", "\(size)",
            "--runs", "\(runs)",
        ])?["img_per_s"] as? Double
    }
}
