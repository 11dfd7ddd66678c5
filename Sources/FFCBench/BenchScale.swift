// `ffc bench scale`: what data parallelism buys on this machine. Trains the same global batch
// twice on a synthesised database — one process × 2 threads, then `mpirun -np 2` × 1 thread
// each — and reads the step records: probe img/s, the step split per rank (compute, all-reduce,
// all-gather, data wait) and bytes each rank puts into collectives per step. Then measures the
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

    @Option(help: "Backbone.") var netType = "tiny"
    @Option(help: "Side of synthesised images and the net's input, in pixels.") var size = 32
    @Option(help: "Identity pairs per step over both ranks (each rank takes half).") var batchSize = 16
    @Option(help: "Steps per run; the first 3 are left out of the medians.") var steps = 13
    @Option(help: "Identities to synthesise.") var identities = 200
    @Option(help: "Embedding size D.") var featDim = 128
    @Option(help: "Where the database and runs go (deleted afterwards).") var workDir = "data/bench-scale"
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
        func train(_ runDir: String, batch: Int) -> [String] {
            [
                ffc, "train", synth.out, "--net-type", netType, "--input-size", String(size), "--feat-dim",
                String(featDim), "--batch-size", String(batch), "--queue-size",
                String(TrainingFlags.demoQueueSize(identities: identities, batchSize: batchSize)), "--max-steps",
                String(steps), "--checkpoint-every", "0", "--headless", "--sync-bn", "--run-dir",
                workDir + "/" + runDir,
            ]
        }
        let mpirun = [
            "mpirun", "--oversubscribe", "-np", "2", "--mca", "btl", "self,vader", "-x", "OPENBLAS_NUM_THREADS",
        ]
        guard PythonReference.execute("env", ["OPENBLAS_NUM_THREADS=2"] + train("one", batch: batchSize))?.status == 0
        else { throw ValidationError("the 1-rank run failed (run it by hand: \(train("one", batch: batchSize)))") }
        guard
            PythonReference.execute("env", ["OPENBLAS_NUM_THREADS=1"] + mpirun + train("two", batch: batchSize / 2))?
                .status == 0
        else {
            throw ValidationError(
                "the 2-rank run failed (is Open MPI installed? as root set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)"
            )
        }
        guard
            let probeOut = PythonReference.execute(
                "env", ["OPENBLAS_NUM_THREADS=1"] + mpirun + [ffc, "bench", "scale", "--probe-allreduce"]),
            probeOut.status == 0
        else { throw ValidationError("the all-reduce probe failed") }
        let probes = PythonReference.rows(ProbeRow.self, in: probeOut.stdout)
        let one = try records(workDir + "/one")
        let two = try records(workDir + "/two")
        try report(one: one, two: two, probes: probes, load: load)
    }

    func records(_ runDir: String) throws -> [StepRecord] {
        let all = try MetricsStreamContents.read(path: RunDirectory(path: runDir).metricsPath).steps
        return Array(all.dropFirst(3))
    }

    struct Split {
        var imagesPerSecond, stepMs, computeMs, allReduceMs, allGatherMs, waitMs: Double
        var bytes: Int
    }

    func split(_ records: [StepRecord], probeImagesPerStep: Int) -> Split {
        let m = Harness.median
        let step = m(records.map(\.stepSeconds))
        let ranks = records.compactMap(\.ranks)
        func rankMedian(_ key: KeyPath<RankStepStats, Double>) -> Double {
            ranks.isEmpty ? 0 : 1000 * m(ranks.map { $0.map { $0[keyPath: key] }.max() ?? 0 })
        }
        let wait =
            ranks.isEmpty
            ? 1000 * m(records.map { $0.loaders.reduce(0) { $0 + $1.trainerWaitShare } * $0.stepSeconds })
            : rankMedian(\.dataWaitSeconds)
        return Split(
            imagesPerSecond: Double(probeImagesPerStep) / step, stepMs: 1000 * step,
            computeMs: ranks.isEmpty ? 1000 * step - wait : rankMedian(\.computeSeconds),
            allReduceMs: rankMedian(\.allReduceSeconds), allGatherMs: rankMedian(\.allGatherSeconds), waitMs: wait,
            bytes: ranks.last?.first?.communicatedBytes ?? 0)
    }

    func report(one: [StepRecord], two: [StepRecord], probes: [ProbeRow], load: String) throws {
        var config = TrainingConfig()
        config.batchSize = batchSize
        let probeImages = config.probeImagesPerStep
        let a = split(one, probeImagesPerStep: probeImages)
        let b = split(two, probeImagesPerStep: probeImages)
        let efficiency = b.imagesPerSecond / a.imagesPerSecond
        // Fit t(n) = 2α + n·β on the smallest and largest probe.
        let sorted = probes.sorted { $0.floats < $1.floats }
        guard let small = sorted.first, let large = sorted.last, large.floats > small.floats else {
            throw ValidationError("the all-reduce probe printed no sizes")
        }
        let beta = max(0, (large.seconds - small.seconds) / Double(4 * (large.floats - small.floats)))
        let alpha = max(0, (small.seconds - Double(4 * small.floats) * beta) / 2)
        let net = try Backbone.make(name: netType, embeddingSize: featDim, inputSize: size, seed: 1)
        let gradientBytes = Double(4 * net.parameterCount)
        let galleryPartBytes = Double(4 * featDim * (batchSize / 2 + batchSize / 4) * 2)
        var rows: [[String: Any]] = []
        for (name, s, ranks, threads) in [("1 rank × 2 threads", a, 1, 2), ("2 ranks × 1 thread", b, 2, 1)] {
            rows.append([
                "row": name, "ranks": ranks, "threads": threads, "net": netType, "globalBatch": batchSize,
                "probeImagesPerSecond": Harness.fixed(s.imagesPerSecond, 1), "stepMs": Harness.fixed(s.stepMs, 1),
                "computeMs": Harness.fixed(s.computeMs, 1), "allReduceMs": Harness.fixed(s.allReduceMs, 1),
                "allGatherMs": Harness.fixed(s.allGatherMs, 1), "waitMs": Harness.fixed(s.waitMs, 1),
                "bytesPerStep": s.bytes, "efficiency": ranks == 1 ? "1" : Harness.fixed(efficiency, 3), "load": load,
            ])
        }
        for r in sorted {
            rows.append(["row": "all-reduce probe", "floats": r.floats, "ms": Harness.fixed(1000 * r.seconds, 3)])
        }
        rows.append([
            "row": "fit", "latencyUs": Harness.fixed(alpha * 1e6, 1),
            "bandwidthGBs": Harness.fixed(beta > 0 ? 1e-9 / beta : 0, 2),
        ])
        for ranks in [8, 64] {
            let r = Double(ranks)
            let allReduce = 2 * (r - 1) * alpha + 2 * (r - 1) / r * gradientBytes * beta
            let allGather = (r - 1) * (alpha + galleryPartBytes * beta)
            let compute = b.computeMs / 1000 + b.waitMs / 1000
            let step = compute + allReduce + allGather
            rows.append([
                "row": "projection", "ranks": ranks, "allReduceMs": Harness.fixed(1000 * allReduce, 2),
                "allGatherMs": Harness.fixed(1000 * allGather, 2), "stepMs": Harness.fixed(1000 * step, 1),
                "efficiency": Harness.fixed(compute / step, 3),
            ])
        }
        if json {
            for row in rows { try JSONLine.print(row) }
        } else {
            for row in rows {
                let name = row["row"] as! String
                let rest = row.filter { $0.key != "row" }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                print(name.padding(toLength: 20, withPad: " ", startingAt: 0) + rest.joined(separator: "  "))
            }
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
