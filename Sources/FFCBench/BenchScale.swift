// `ffc bench scale`: what data parallelism buys on this machine. Per backbone, trains on a
// synthesised database one process × 2 threads at the global batch B, `mpirun -np 2` × 1
// thread at B/2 each, and one process × 1 thread at B/2 (one rank's share alone), and reads
// the step records: probe img/s, the step split per rank (compute, all-reduce — the part the
// step waited for and the part hidden behind the backward — all-gather, data wait), bytes each
// rank puts into collectives per step, and the scaling efficiency against both baselines. Then measures the
// all-reduce alone under `mpirun -np 2` (`--probe-allreduce`: medians over 1 K … 1 M floats),
// fits latency α and seconds per byte β to t(n) = 2α + n·β (at R = 2 the fixed-order all-reduce
// sends and receives n bytes per rank in two messages), and projects the all-reduce of the
// probe net's gradient and the all-gather of gallery rows to 8 and 64 ranks with the same
// per-rank batch: all-reduce 2(R−1)·α + 2(R−1)/R·n·β, all-gather (R−1)·(α + part·β).
import ArgumentParser
import FFCEngine
import Foundation

public struct BenchScale: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "1 rank × 2 threads vs 2 ranks × 1 thread (mpirun), step split, all-reduce fit, 8/64-rank projection."
    )

    @Option(help: "Backbone, or several separated by commas (mobilefacenet,ir18).") var netType = "tiny"
    @Option(help: "Side of synthesised images and the net's input, in pixels.") var size = 32
    @Option(help: "Identity pairs per step over both ranks (each rank takes half).") var batchSize = 16
    @Option(help: "Steps per run; the first 3 are left out of the medians.") var steps = 13
    @Option(help: "Identities to synthesise.") var identities = 200
    @Option(help: "Embedding size D.") var featDim = 128
    @Option(help: "Where the database and runs go (deleted afterwards).") var workDir = "data/bench-scale"
    @Flag(inversion: .prefixedNo, help: "Batch norm over both ranks' rows (--sync-bn) in the runs.")
    var syncBn = true
    @Flag(help: "Print one JSON object per row instead of a table.") var json = false
    @Flag(help: .hidden) var probeAllreduce = false

    public init() {}

    struct ProbeRow: Codable {
        var floats: Int
        var seconds: Double
    }

    public func run() throws {
        if probeAllreduce { return probe() }
        guard batchSize >= 4, batchSize % 2 == 0 else { throw ValidationError("--batch-size must be even and ≥ 4") }
        let nets = netType.split(separator: ",").map(String.init)
        let ffc =
            ProcessInfo.processInfo.arguments[0].hasPrefix("/")
            ? ProcessInfo.processInfo.arguments[0]
            : FileManager.default.currentDirectoryPath + "/" + ProcessInfo.processInfo.arguments[0]
        try? FileManager.default.removeItem(atPath: workDir)
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        let synth = SynthOptions(
            identities: identities, images: .fixed(8), size: size, seed: 3, out: workDir + "/s.lmdb", holdout: 0,
            pairs: 0)
        _ = try SyntheticDatabase.write(synth)
        let load = LoadProbe.read()
        let mpirun = [
            "mpirun", "--oversubscribe", "-np", "2", "--mca", "btl", "self,vader", "-x", "OPENBLAS_NUM_THREADS",
        ]
        var measured: [(net: String, runs: Runs)] = []
        for net in nets {
            func train(_ runDir: String, batch: Int) -> [String] {
                [
                    ffc, "train", synth.out, "--net-type", net, "--input-size", String(size), "--feat-dim",
                    String(featDim), "--batch-size", String(batch), "--queue-size",
                    String(TrainingFlags.demoQueueSize(identities: identities, batchSize: batchSize)), "--max-steps",
                    String(steps), "--checkpoint-every", "0", "--headless", "--run-dir",
                    workDir + "/" + net + "-" + runDir,
                ] + (syncBn ? ["--sync-bn"] : [])
            }
            // 1 rank × 2 threads at B; 2 ranks × 1 thread at B/2 each; 1 rank × 1 thread at B/2
            // (one rank's share alone, what two ranks would do at perfect scaling).
            let plans: [(String, [String], String)] = [
                ("one", ["OPENBLAS_NUM_THREADS=2"] + train("one", batch: batchSize), "1 rank × 2 threads"),
                ("two", ["OPENBLAS_NUM_THREADS=1"] + mpirun + train("two", batch: batchSize / 2), "2 ranks × 1 thread"),
                ("half", ["OPENBLAS_NUM_THREADS=1"] + train("half", batch: batchSize / 2), "1 rank × 1 thread"),
            ]
            for (_, command, name) in plans {
                guard PythonReference.execute("env", command)?.status == 0 else {
                    throw ValidationError(
                        "the \(net) \(name) run failed (run it by hand: env \(command.joined(separator: " "))); as root set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
                    )
                }
            }
            measured.append(
                (
                    net,
                    Runs(
                        one: try records(workDir + "/" + net + "-one"), two: try records(workDir + "/" + net + "-two"),
                        half: try records(workDir + "/" + net + "-half"))
                ))
        }
        guard
            let probeOut = PythonReference.execute(
                "env", ["OPENBLAS_NUM_THREADS=1"] + mpirun + [ffc, "bench", "scale", "--probe-allreduce"]),
            probeOut.status == 0
        else { throw ValidationError("the all-reduce probe failed") }
        let probes = PythonReference.rows(ProbeRow.self, in: probeOut.stdout)
        try report(measured, probes: probes, load: load)
    }

    struct Runs {
        var one, two, half: [StepRecord]
    }

    func records(_ runDir: String) throws -> [StepRecord] {
        let all = try MetricsStreamContents.read(path: RunDirectory(path: runDir).metricsPath).steps
        return Array(all.dropFirst(3))
    }

    struct Split {
        var imagesPerSecond, stepMs, computeMs, allReduceMs, allReduceWaitMs, allGatherMs, waitMs: Double
        var bytes: Int
        var buckets: Int
    }

    /// Medians over the steps; per step the slowest rank's figure.
    func split(_ records: [StepRecord], probeImagesPerStep: Int) -> Split {
        let m = Harness.median
        let step = m(records.map(\.stepSeconds))
        let ranks = records.compactMap(\.ranks)
        func rankMedian(_ value: (RankStepStats) -> Double) -> Double {
            ranks.isEmpty ? 0 : 1000 * m(ranks.map { $0.map(value).max() ?? 0 })
        }
        let wait =
            ranks.isEmpty
            ? 1000 * m(records.map { $0.loaders.reduce(0) { $0 + $1.trainerWaitShare } * $0.stepSeconds })
            : rankMedian(\.dataWaitSeconds)
        return Split(
            imagesPerSecond: Double(probeImagesPerStep) / step, stepMs: 1000 * step,
            computeMs: ranks.isEmpty ? 1000 * step - wait : rankMedian(\.computeSeconds),
            allReduceMs: rankMedian(\.allReduceSeconds),
            allReduceWaitMs: rankMedian { $0.allReduceWaitSeconds ?? $0.allReduceSeconds },
            allGatherMs: rankMedian(\.allGatherSeconds), waitMs: wait,
            bytes: ranks.last?.first?.communicatedBytes ?? 0, buckets: ranks.last?.first?.gradientBuckets ?? 0)
    }

    func report(_ measured: [(net: String, runs: Runs)], probes: [ProbeRow], load: String) throws {
        var config = TrainingConfig()
        config.batchSize = batchSize
        let probeImages = config.probeImagesPerStep
        config.batchSize = batchSize / 2
        let halfImages = config.probeImagesPerStep
        // Fit t(n) = 2α + n·β on the smallest and largest probe.
        let sorted = probes.sorted { $0.floats < $1.floats }
        guard let small = sorted.first, let large = sorted.last, large.floats > small.floats else {
            throw ValidationError("the all-reduce probe printed no sizes")
        }
        let beta = max(0, (large.seconds - small.seconds) / Double(4 * (large.floats - small.floats)))
        let alpha = max(0, (small.seconds - Double(4 * small.floats) * beta) / 2)
        var rows: [[String: Any]] = []
        for (netName, runs) in measured {
            let a = split(runs.one, probeImagesPerStep: probeImages)
            let b = split(runs.two, probeImagesPerStep: probeImages)
            let c = split(runs.half, probeImagesPerStep: halfImages)
            for (name, s, ranks, threads) in [
                ("1 rank × 2 threads", a, 1, 2), ("2 ranks × 1 thread", b, 2, 1), ("1 rank × 1 thread", c, 1, 1),
            ] {
                var row: [String: Any] = [
                    "row": name, "ranks": ranks, "threads": threads, "net": netName,
                    "globalBatch": threads == 1 && ranks == 1 ? batchSize / 2 : batchSize,
                    "probeImagesPerSecond": Harness.fixed(s.imagesPerSecond, 1), "stepMs": Harness.fixed(s.stepMs, 1),
                    "computeMs": Harness.fixed(s.computeMs, 1), "allGatherMs": Harness.fixed(s.allGatherMs, 1),
                    "waitMs": Harness.fixed(s.waitMs, 1), "load": load, "syncBN": syncBn,
                ]
                if ranks == 2 {
                    row["allReduceMs"] = Harness.fixed(s.allReduceMs, 1)
                    row["allReduceExposedMs"] = Harness.fixed(s.allReduceWaitMs, 1)
                    row["allReduceHiddenMs"] = Harness.fixed(max(0, s.allReduceMs - s.allReduceWaitMs), 1)
                    row["gradientBuckets"] = s.buckets
                    row["bytesPerStep"] = s.bytes
                    // img/s of 2 ranks over 1 rank × 2 threads (the same two cores, the same global
                    // batch), and over twice 1 rank × 1 thread at one rank's batch B/2.
                    row["efficiencyVs1x2"] = Harness.fixed(b.imagesPerSecond / a.imagesPerSecond, 3)
                    row["efficiencyVs2x1x1"] = Harness.fixed(b.imagesPerSecond / (2 * c.imagesPerSecond), 3)
                }
                rows.append(row)
            }
            let net = try Backbone.make(name: netName, embeddingSize: featDim, inputSize: size, seed: 1)
            let gradientBytes = Double(4 * net.parameterCount)
            let galleryPartBytes = Double(4 * featDim * (batchSize / 2 + batchSize / 4) * 2)
            for ranks in [8, 64] {
                let r = Double(ranks)
                let allReduce = 2 * (r - 1) * alpha + 2 * (r - 1) / r * gradientBytes * beta
                let allGather = (r - 1) * (alpha + galleryPartBytes * beta)
                let compute = b.computeMs / 1000 + b.waitMs / 1000
                let step = compute + allReduce + allGather
                rows.append([
                    "row": "projection", "net": netName, "ranks": ranks,
                    "allReduceMs": Harness.fixed(1000 * allReduce, 2),
                    "allGatherMs": Harness.fixed(1000 * allGather, 2),
                    "stepMs": Harness.fixed(1000 * step, 1), "efficiency": Harness.fixed(compute / step, 3),
                ])
            }
        }
        for r in sorted {
            rows.append(["row": "all-reduce probe", "floats": r.floats, "ms": Harness.fixed(1000 * r.seconds, 3)])
        }
        rows.append([
            "row": "fit", "latencyUs": Harness.fixed(alpha * 1e6, 1),
            "bandwidthGBs": Harness.fixed(beta > 0 ? 1e-9 / beta : 0, 2),
        ])
        if json {
            for row in rows { try JSONLine.print(row) }
        } else {
            for row in rows {
                let name = row["row"] as! String
                let rest = row.filter { $0.key != "row" }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                print(name.padding(toLength: 20, withPad: " ", startingAt: 0) + rest.joined(separator: "  "))
            }
            print(
                "efficiencyVs1x2: 2-rank img/s ÷ 1 rank × 2 threads (same cores, same global batch); efficiencyVs2x1x1: 2-rank img/s ÷ (2 × 1 rank × 1 thread at B/2). allReduceMs = allReduceExposedMs (the step waited) + allReduceHiddenMs (ran behind the backward)."
            )
        }
    }

    /// Under mpirun: medians of 9 all-reduces per size; rank 0 prints one JSON row per size.
    func probe() {
        let world = World.communicator
        for floats in [1 << 10, 1 << 14, 1 << 18, 1 << 20] {
            var buffer = [Float](repeating: 1, count: floats)
            var times: [Double] = []
            for _ in 0..<9 {
                world.barrier()
                let start = DispatchTime.now().uptimeNanoseconds
                buffer.withUnsafeMutableBufferPointer { world.allReduceSum($0) }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            }
            if world.isLeader { try? JSONLine.print(ProbeRow(floats: floats, seconds: Harness.median(times))) }
        }
    }
}
