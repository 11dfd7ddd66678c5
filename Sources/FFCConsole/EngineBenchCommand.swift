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

struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
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

    func run() throws {
        if let conv {
            try timeConvolution(conv)
            return
        }
        let names = models.split(separator: ",").map(String.init)
        for name in names where !Backbone.names.contains(name) {
            throw ValidationError("unknown backbone '\(name)'; known: \(Backbone.names.joined(separator: ", "))")
        }
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }
        let modeList = try modes.split(separator: ",").map { text in
            guard let mode = BackboneBenchmark.Mode(rawValue: String(text)) else {
                throw ValidationError("unknown mode '\(text)'; known: train, infer")
            }
            return mode
        }
        let runs = steps ?? (quick ? 1 : 5)
        guard rounds >= 1 else { throw ValidationError("--rounds \(rounds): must be at least 1") }
        let pytorch = PyTorchReference(python: noPytorch ? nil : python, script: reference)
        var load = [Double](repeating: 0, count: 3)
        getloadavg(&load, 3)
        let loadText = load.map { String(format: "%.2f", $0) }.joined(separator: " ")
        if !json {
            print(
                "OpenBLAS \(BLAS.coreName), \(EngineTuning.current.summary); load average \(loadText); median of \(runs) step(s) after a warm-up, \(rounds) round(s); PyTorch: \(pytorch.available ? "yes" : "n/a")"
            )
            print(
                pad("model", 15) + pad("mode", 7) + pad("thr", 4, right: true) + pad("batch", 7, right: true)
                    + pad("img/s", 10, right: true) + pad("pytorch", 10, right: true) + pad("ratio", 8, right: true)
                    + pad("sgemm GF/s", 12, right: true) + pad("conv GF/s", 11, right: true)
                    + pad("conv %peak", 11, right: true)
                    + pad("conv %time", 11, right: true) + pad("RSS MiB early→late", 20, right: true))
        }
        for threadCount in threadCounts {
            BLAS.threads = threadCount
            for name in names {
                let batch = name == "mobilefacenet" || name == "tiny" ? 64 : 32
                let size = Backbone.defaultInputSize(name: name)
                for mode in modeList {
                    let profile = layers ? LayerProfile() : nil
                    // Rounds alternate our run and PyTorch's, so both see the same neighbours;
                    // each side's figure is its median over the rounds. The sgemm peak is timed
                    // right before and right after each of our runs, best of all: on a shared
                    // machine a single timing swings with the neighbours' load.
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
                            model: name, mode: mode.rawValue, batch: batch, threads: threadCount, size: size, runs: runs
                        ) {
                            theirRates.append(rate)
                        }
                    }
                    let ours = results.sorted { $0.imagesPerSecond < $1.imagesPerSecond }[results.count / 2]
                    let theirs = theirRates.isEmpty ? nil : theirRates.sorted()[theirRates.count / 2]
                    let best = after.gflops > before.gflops ? after : before
                    let peak = best.gflops
                    var peakNote = String(
                        format: "sgemm peak %.1f GF/s at %@ %@ the row (before %.1f, after %.1f)", peak,
                        best.shape.description, after.gflops > before.gflops ? "after" : "before", before.gflops,
                        after.gflops)
                    let roundRatios = zip(results, theirRates).map { $0.imagesPerSecond / $1 }
                    if rounds > 1 {
                        peakNote +=
                            "; rounds: ours "
                            + results.map { String(format: "%.2f", $0.imagesPerSecond) }.joined(separator: ", ")
                            + (theirRates.isEmpty
                                ? ""
                                : ", PyTorch " + theirRates.map { String(format: "%.2f", $0) }.joined(separator: ", ")
                                    + ", ratios "
                                    + roundRatios.map { String(format: "%.2f×", $0) }.joined(separator: ", "))
                    }
                    let ratio = theirs.map { ours.imagesPerSecond / $0 }
                    let share = ours.convolutionGFLOPs / peak
                    if json {
                        var row: [String: Any] = [
                            "model": name, "mode": mode.rawValue, "threads": threadCount, "batch": batch, "input": size,
                            "img_per_s": ours.imagesPerSecond, "sgemm_peak_gflops": peak,
                            "sgemm_peak_shape": best.shape.description, "sgemm_peak_before_gflops": before.gflops,
                            "sgemm_peak_after_gflops": after.gflops,
                            "conv_gflops": ours.convolutionGFLOPs, "conv_share_of_peak": share,
                            "conv_time_share": ours.convolutionTimeShare, "load_average": loadText,
                            "step_seconds": ours.stepSeconds, "steps": runs, "rounds": rounds,
                            "rss_early_bytes": ours.residentBytesEarly, "rss_late_bytes": ours.residentBytesLate,
                        ]
                        if layers {
                            row["convolutions"] = ours.convolutions.map { c -> [String: Any] in
                                [
                                    "path": c.path, "layer": c.summary, "forward_ms": 1000 * c.forwardSeconds,
                                    "backward_ms": 1000 * c.backwardSeconds, "gflops": c.gflops,
                                ]
                            }
                        }
                        row["pytorch_img_per_s"] = theirs ?? NSNull()
                        row["ratio_vs_pytorch"] = ratio ?? NSNull()
                        if rounds > 1 {
                            row["rounds_img_per_s"] = results.map(\.imagesPerSecond)
                            row["rounds_pytorch_img_per_s"] = theirRates
                            row["rounds_ratio_vs_pytorch"] = roundRatios
                        }
                        if let profile {
                            row["layers_ms_per_step"] = profile.entries.mapValues {
                                [
                                    "forward": 1000 * $0.forwardSeconds / Double(runs * rounds),
                                    "backward": 1000 * $0.backwardSeconds / Double(runs * rounds),
                                ]
                            }
                        }
                        let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
                        print(String(decoding: data, as: UTF8.self))
                    } else {
                        print(
                            pad(name, 15) + pad(mode.rawValue, 7) + pad("\(threadCount)", 4, right: true)
                                + pad("\(batch)", 7, right: true)
                                + pad(String(format: "%.2f", ours.imagesPerSecond), 10, right: true)
                                + pad(theirs.map { String(format: "%.2f", $0) } ?? "n/a", 10, right: true)
                                + pad(ratio.map { String(format: "%.2f×", $0) } ?? "n/a", 8, right: true)
                                + pad(String(format: "%.1f", peak), 12, right: true)
                                + pad(String(format: "%.1f", ours.convolutionGFLOPs), 11, right: true)
                                + pad(String(format: "%.0f%%", 100 * share), 11, right: true)
                                + pad(String(format: "%.0f%%", 100 * ours.convolutionTimeShare), 11, right: true)
                                + pad(
                                    String(
                                        format: "%.0f→%.0f", mebibytes(ours.residentBytesEarly),
                                        mebibytes(ours.residentBytesLate)), 20, right: true))
                        print("    " + peakNote)
                        if let profile {
                            printLayerBreakdown(profile, runs: runs * rounds, stepSeconds: ours.stepSeconds)
                            printConvolutions(ours, peak: peak)
                        }
                    }
                }
            }
        }
    }

    /// The fastest forward and backward of one convolution at each thread count.
    private func timeConvolution(_ spec: String) throws {
        let v = spec.split(separator: ",").compactMap { Int($0) }
        guard v.count == 5 else { throw ValidationError("--conv wants Cin,Cout,kernel,stride,side, got '\(spec)'") }
        let layer = Conv2D(v[0], v[1], kernel: v[2], stride: v[3], padding: v[2] / 2)
        let x = Tensor(shape: [32, v[4], v[4], v[0]])
        for i in 0..<x.count { x[i] = Float(i % 13) * 0.01 }
        for threadCount in threads.split(separator: ",").compactMap({ Int($0) }) {
            BLAS.threads = threadCount
            var (forward, backward) = (Double.infinity, Double.infinity)
            for _ in 0...(steps ?? 10) {
                layer.resetProfile()
                let y = layer.forward(x, training: true)
                _ = layer.backward(y)
                forward = min(forward, layer.profileForwardSeconds)
                backward = min(backward, layer.profileBackwardSeconds)
            }
            let multiplyAdds = Double(layer.multiplyAdds(x.shape))
            print(
                String(
                    format: "%@ %dx%d thr %d: fwd %.1f ms (%.1f GF/s)  bwd %.1f ms (%.1f GF/s)", layer.summary, v[4],
                    v[4], threadCount, 1000 * forward, 2 * multiplyAdds / forward / 1e9, 1000 * backward,
                    4 * multiplyAdds / backward / 1e9))
        }
    }

    private func mebibytes(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }

    /// Each convolution's mean milliseconds per step and its share of the sgemm peak.
    private func printConvolutions(_ result: BackboneBenchmark.Result, peak: Double) {
        for c in result.convolutions {
            print(
                "    " + pad(c.path, 28) + pad(c.summary, 24)
                    + pad(String(format: "fwd %.1f ms", 1000 * c.forwardSeconds), 15, right: true)
                    + pad(String(format: "bwd %.1f ms", 1000 * c.backwardSeconds), 15, right: true)
                    + pad(String(format: "%.1f GF/s", c.gflops), 13, right: true)
                    + pad(String(format: "%.0f%%", 100 * c.gflops / peak), 6, right: true))
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
    print(
        "    " + pad("layer kind", 20) + pad("fwd ms", 10, right: true) + pad("bwd ms", 10, right: true)
            + pad("% step", 9, right: true))
    for (kind, entry) in rows {
        let total = entry.forwardSeconds + entry.backwardSeconds
        print(
            "    " + pad(kind, 20) + pad(String(format: "%.1f", entry.forwardSeconds * perStep), 10, right: true)
                + pad(String(format: "%.1f", entry.backwardSeconds * perStep), 10, right: true)
                + pad(String(format: "%.1f", 100 * total / Double(max(1, runs)) / stepSeconds), 9, right: true))
    }
}

/// Runs tools/reference/engine_bench.py for one row; nil when Python, torch or the script
/// is missing or the run fails.
struct PyTorchReference {
    let python: String
    let script: String
    let available: Bool

    /// `python` nil: the reference is switched off and every row says n/a.
    init(python: String?, script: String) {
        self.python = python ?? ""
        self.script = script
        available =
            python != nil && FileManager.default.fileExists(atPath: script)
            && PyTorchReference.execute(self.python, ["-c", "import torch"]).map { _ in true } ?? false
    }

    func imagesPerSecond(model: String, mode: String, batch: Int, threads: Int, size: Int, runs: Int) -> Double? {
        guard available else { return nil }
        let arguments = [
            script, "--model", model, "--mode", mode, "--batch", "\(batch)", "--threads", "\(threads)",
            "--size", "\(size)", "--runs", "\(runs)",
        ]
        guard let output = PyTorchReference.execute(python, arguments),
            let line = output.split(separator: "\n").last,
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { return nil }
        return object["img_per_s"] as? Double
    }

    /// stdout of `program arguments`, or nil when it cannot start or exits non-zero.
    static func execute(_ program: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
