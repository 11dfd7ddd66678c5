// `ffc bench eval`: identification scoring throughput against raw sgemm and against numpy.
import ArgumentParser
import FFCEngine
import Foundation
import Synchronization

public struct BenchEval: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Identification scoring: pairs/s, share of sgemm throughput, and numpy on the same CPU.",
        discussion: """
            Scores --probes random unit vectors against --distractors generated unit vectors
            (blocks of --block-rows) with the engine's identification code, and times plain sgemm
            of the same shapes in the same run: the identification's own tile calls, and OpenBLAS
            threads on whole blocks; the faster is the peak. Share of sgemm = 2·P·D·d flops over
            the identification's whole wall time (generating and reading distractors, sgemm,
            scan, merge) divided by that peak. Runs tools/reference/eval_bench.py (numpy) on the
            same sizes when python3 with numpy is available (--numpy-script none skips it). The
            issue's target size (a few minutes; skip numpy, which takes far longer):
              ffc bench eval --probes 10000 --distractors 1000000 --dim 512 --runs 1 --numpy-script none
            """
    )

    @Option(help: "Probe count.")
    var probes: Int = 2000

    @Option(help: "Distractor count.")
    var distractors: Int = 50000

    @Option(help: "Embedding size.")
    var dim: Int = 512

    @Option(help: "Candidate rows read per block (double-buffered).")
    var blockRows: Int = 4096

    @Option(help: "Runs per row (the median is shown).")
    var runs: Int = 3

    @Option(help: "The numpy baseline script.")
    var numpyScript: String = "tools/reference/eval_bench.py"

    @Option(help: "Backbone for the embeddings/s row (random weights; tiny with --quick).")
    var backbone: String = "mobilefacenet"

    @Option(help: "Images embedded per run for the embeddings/s row.")
    var embedImages: Int = 64

    @Flag(help: "Small sizes, one run: a smoke test.")
    var quick = false

    @Flag(help: "Print one JSON object per row.")
    var json = false

    public init() {}

    public func run() throws {
        let p = quick ? 500 : probes
        let d = quick ? 10000 : distractors
        let r = quick ? 1 : max(1, runs)
        let load = LoadProbe.read()
        let probeRows = randomUnitRows(p, seed: 1)
        let labels = Array(0..<p)

        // Plain sgemm of the same shapes, alternated with the identification run by run so all
        // see the same machine load: (1) the identification's own calls — probeChunk ×
        // tileColumns tiles, single-threaded, one worker per core — and (2) the engine's split sgemm
        // (BLAS.threads single-threaded blocks) on whole P × blockRows blocks. The faster is the peak the identification is held to.
        let cols = min(blockRows, d)
        let block = randomUnitRows(cols, seed: 2)
        var tileGflops: [Double] = []
        var threadedGflops: [Double] = []
        var shares: [Double] = []
        var pairsPerSecond: [Double] = []
        var cpuNanosecondsPerPair: [(gemm: Double, scan: Double, read: Double)] = []
        let flops = 2 * Double(p) * Double(d) * Double(dim)
        for _ in 0..<r {
            tileGflops.append(flops / tiledSGEMMSeconds(probes: probeRows, p: p, block: block, d: d) / 1e9)
            threadedGflops.append(flops / threadedSGEMMSeconds(probes: probeRows, p: p, block: block, d: d) / 1e9)
            let result = try Identification.evaluate(
                probes: probeRows, probeLabels: labels, gallery: [], galleryLabels: [],
                distractors: RandomDistractors(count: d, dim: dim, seed: 3), dim: dim, normalize: false,
                blockRows: blockRows)
            let pairs = Double(result.scoredPairs)
            pairsPerSecond.append(pairs / result.seconds)
            shares.append(flops / result.seconds / 1e9 / max(tileGflops.last!, threadedGflops.last!))
            cpuNanosecondsPerPair.append(
                (result.gemmSeconds / pairs * 1e9, result.scanSeconds / pairs * 1e9, result.readSeconds / pairs * 1e9))
        }
        let tiles = Harness.median(tileGflops)
        let threaded = Harness.median(threadedGflops)
        let ours = Harness.median(pairsPerSecond)
        let oursGflops = ours * 2 * Double(dim) / 1e9
        let share = Harness.median(shares)
        let cpu = Harness.medianElement(cpuNanosecondsPerPair, by: \.scan)!
        let numpy = runNumpy(p: p, d: d)
        let (embedName, embedRate) = try embeddingsPerSecond(runs: r)

        let size = "\(p)×\(d)×\(dim)"
        var rows: [[String: Any]] = [
            [
                "row": "sgemm (tiles)", "size": size, "gflops": tiles,
                "calls": "\(Identification.probeChunk)×\(Identification.tileColumns) tiles, 1 thread per core",
                "openblas_core": ScoreGEMM.coreName, "load": load,
            ],
            [
                "row": "sgemm (threads)", "size": size, "gflops": threaded,
                "calls": "\(p)×\(cols) blocks, split over BLAS.threads", "load": load,
            ],
            [
                "row": "identify (ffc)", "size": size, "pairs_per_second": ours, "gflops": oursGflops,
                "share_of_sgemm": share, "wall_includes": "reading, normalising, sgemm, scan, merge",
                "gemm_cpu_ns_per_pair": cpu.gemm, "scan_cpu_ns_per_pair": cpu.scan, "read_cpu_ns_per_pair": cpu.read,
                "load": load,
            ],
        ]
        if let numpy {
            rows.append([
                "row": "identify (numpy)", "size": size, "pairs_per_second": numpy,
                "gflops": numpy * 2 * Double(dim) / 1e9, "ffc_over_numpy": ours / numpy, "load": load,
            ])
        }
        rows.append([
            "row": "embed (\(embedName))", "images": quick ? 16 : embedImages, "embeddings_per_second": embedRate,
            "load": load,
        ])
        if json {
            for row in rows { try JSONLine.print(row) }
            return
        }
        print("bench eval  (\(r) run(s), median; load average \(load); OpenBLAS core \(ScoreGEMM.coreName))")
        let table = TextTable([
            .init("row", 18), .init("size P×D×d", 22), .init("pairs/s", 12), .init("GFLOP/s", 8, .right),
        ])
        func line(_ row: String, _ size: String, _ pairs: String, _ gflops: Double, _ note: String) {
            print(table.line([row, size, pairs, String(format: "%.1f", gflops)]) + "  " + note)
        }
        print(table.header)
        line(
            "sgemm (tiles)", size, "-", tiles,
            "\(Identification.probeChunk)×\(Identification.tileColumns) tiles, 1 thread per core")
        line("sgemm (threads)", size, "-", threaded, "\(p)×\(cols) blocks, split over BLAS.threads")
        line(
            "identify (ffc)", size, String(format: "%.3e", ours), oursGflops,
            String(
                format: "%.0f%% of sgemm (wall, all included); CPU ns/pair: sgemm %.2f, scan %.2f, read %.2f",
                100 * share, cpu.gemm, cpu.scan, cpu.read))
        if let numpy {
            line(
                "identify (numpy)", size, String(format: "%.3e", numpy), numpy * 2 * Double(dim) / 1e9,
                String(format: "ffc/numpy %.2f×", ours / numpy))
        } else {
            print("identify (numpy)   skipped: python3 with numpy or \(numpyScript) not found")
        }
        print(
            table.line(["embed (\(embedName))"]) + " "
                + String(format: "%.1f embeddings/s (batch %d)", embedRate, quick ? 16 : embedImages))
    }

    /// Forward passes of a randomly initialised backbone over synthetic inputs (batch = images).
    private func embeddingsPerSecond(runs: Int) throws -> (String, Double) {
        let name = quick ? "tiny" : backbone
        let images = quick ? 16 : max(1, embedImages)
        let embedder = Embedder(backbone: try Backbone.make(name: name, seed: 1), batchSize: images)
        var rates: [Double] = []
        for _ in 0..<runs {
            let t = Date()
            _ = try embedder.embed(count: images, flip: false) { i, _, out in
                for k in out.indices { out[k] = Float((i * 31 + k) % 255) / 128 - 1 }
            }
            rates.append(Double(images) / Date().timeIntervalSince(t))
        }
        return (embedder.backbone.architecture, Harness.median(rates))
    }

    /// Seconds for the identification's sgemm calls alone: every probeChunk × tileColumns tile
    /// of P × d, handed out one by one to one single-threaded worker per core.
    private func tiledSGEMMSeconds(probes: [Float], p: Int, block: [Float], d: Int) -> Double {
        let chunk = Identification.probeChunk
        let tile = Identification.tileColumns
        let dim = dim
        let cols = block.count / dim
        let workers = ProcessInfo.processInfo.activeProcessorCount
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: workers * chunk * tile)
        defer { scores.deallocate() }
        let chunks = (p + chunk - 1) / chunk
        let t = Date()
        do {
            probes.withUnsafeBufferPointer { a in
                block.withUnsafeBufferPointer { b in
                    nonisolated(unsafe) let (a, b, scores) = (a.baseAddress!, b.baseAddress!, scores)
                    var done = 0
                    while done < d {
                        let n = min(cols, d - done)
                        let tasks = chunks * ((n + tile - 1) / tile)
                        let counter = Atomic<Int>(0)
                        DispatchQueue.concurrentPerform(iterations: workers) { w in
                            while true {
                                let task = counter.add(1, ordering: .relaxed).oldValue
                                guard task < tasks else { return }
                                let c0 = (task / chunks) * tile
                                let r0 = (task % chunks) * chunk
                                ScoreGEMM.scores(
                                    a + r0 * dim, rows: min(chunk, p - r0), b + c0 * dim, cols: min(tile, n - c0),
                                    dim: dim, into: scores + w * chunk * tile)
                            }
                        }
                        done += n
                    }
                }
            }
        }
        return Date().timeIntervalSince(t)
    }

    /// Seconds for P × d scores as P × blockRows sgemm calls on OpenBLAS's own threads.
    private func threadedSGEMMSeconds(probes: [Float], p: Int, block: [Float], d: Int) -> Double {
        let cols = block.count / dim
        var scores = [Float](repeating: 0, count: p * cols)
        let t = Date()
        var done = 0
        while done < d {
            let n = min(cols, d - done)
            probes.withUnsafeBufferPointer { a in
                block.withUnsafeBufferPointer { b in
                    scores.withUnsafeMutableBufferPointer {
                        ScoreGEMM.scores(
                            a.baseAddress!, rows: p, b.baseAddress!, cols: n, dim: dim, into: $0.baseAddress!)
                    }
                }
            }
            done += n
        }
        return Date().timeIntervalSince(t)
    }

    private func randomUnitRows(_ n: Int, seed: UInt64) -> [Float] {
        var out = [Float](repeating: 0, count: n * dim)
        try? out.withUnsafeMutableBufferPointer {
            try RandomDistractors(count: n, dim: dim, seed: seed).read(0, n, into: $0)
        }
        return out
    }

    /// numpy's pairs/s from the baseline script, or nil when it cannot run here.
    private func runNumpy(p: Int, d: Int) -> Double? {
        PythonReference(script: numpyScript).lastObject([
            "--probes", "\(p)", "--distractors", "\(d)", "--dim", "\(dim)", "--block", "\(blockRows)",
        ])?["pairs_per_second"] as? Double
    }
}
