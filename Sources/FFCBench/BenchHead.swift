// `ffc bench head`: head step time and memory against pool size and number of identities for
// the FFC head and the full-FC / Partial-FC baselines, on simulated label streams (no images),
// side by side with the PyTorch reference of the same math (tools/reference/head_bench.py).
import ArgumentParser
import FFCEngine
import Foundation

public struct BenchHead: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Head step time and memory vs pool size and identities: ffc, fc, pfc, and PyTorch.")

    @Flag(help: "Only 10k and 100k identities, two timed steps.") var quick = false
    @Flag(help: "Print one JSON object per row instead of a table.") var json = false
    @Option(help: "Identities per step in the pair part (B); each pass has 1.5·B probe rows.")
    var batchSize = 256
    @Option(help: "Feature dimension D.") var featDim = 512
    @Option(help: "Timed steps per row (median reported), after one warm-up step.") var runs = 3
    @Option(help: "Pool sizes as percentages of the identities.") var poolPercent: [Double] = [
        1, 0.1,
    ]
    @Option(help: "Partial FC sample rate r.") var pfcRate = 0.1
    @Option(help: "Memory budget in GiB; heads needing more are reported as not fitting.")
    var budgetGib = 4.0
    @Option(help: "PyTorch reference script; skipped when torch is not importable.")
    var torchScript = "tools/reference/head_bench.py"
    @Flag(help: "Do not run the PyTorch reference.") var noTorch = false
    @Option(help: "Identity counts to measure (default 10k, 100k, 1M, 10M; --quick: 10k, 100k).")
    var identities: [Int] = []
    @Option(help: "Heads to measure.") var heads: [String] = ["ffc", "fc", "pfc"]

    struct Row: Codable {
        var head: String
        var identities: Int
        /// Pool slots for ffc, sample percent for pfc, 0 for fc.
        var pool: Int
        var fits: Bool
        var requiredBytes: Double
        var stepMs: Double?
        var allocatedBytes: Int?
        var rssBytes: Int?
        var torchStepMs: Double?
        var torchRssBytes: Int?
        var speedup: Double?
        var loadAverage: String
        var blasCore: String
    }

    public init() {}

    public func run() throws {
        let identityCounts =
            !identities.isEmpty
            ? identities : quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000, 10_000_000]
        let timed = quick ? 2 : runs
        let budget = budgetGib * 1_073_741_824
        let probeRows = batchSize + batchSize / 2
        var rows: [Row] = []
        let load = LoadProbe.read()
        let core = HeadBLAS.coreName
        for n in identityCounts {
            for percent in poolPercent {
                let q = max(Int(Double(n) * percent / 100), 1)
                let need =
                    Double(q) * Double(ClassPool.bytesPerSlot(featureDim: featDim, probeRows: probeRows))
                rows.append(
                    Row(
                        head: "ffc", identities: n, pool: q, fits: need <= budget, requiredBytes: need,
                        loadAverage: load, blasCore: core))
            }
            let fcNeed = Double(n) * Double(featDim) * 4 * 3
            rows.append(
                Row(
                    head: "fc", identities: n, pool: 0, fits: fcNeed <= budget, requiredBytes: fcNeed,
                    loadAverage: load, blasCore: core))
            let pfcNeed = MarginFCHead.requiredBytes(
                identities: n, featureDim: featDim, probeRows: 2 * probeRows, sampleRate: pfcRate)
            rows.append(
                Row(
                    head: "pfc", identities: n, pool: Int((pfcRate * 100).rounded()), fits: pfcNeed <= budget,
                    requiredBytes: pfcNeed, loadAverage: load, blasCore: core))
        }
        rows.removeAll { !heads.contains($0.head) }
        for i in rows.indices where rows[i].fits {
            let (ms, allocated, rss) = try measure(rows[i], timed: timed)
            rows[i].stepMs = ms
            rows[i].allocatedBytes = allocated
            rows[i].rssBytes = rss
            if !json {
                FileHandle.standardError.write(
                    Data("measured \(rows[i].head) N=\(rows[i].identities)\n".utf8))
            }
        }
        if !noTorch, let torchRows = runTorch(rows.filter(\.fits), timed: timed) {
            for i in rows.indices {
                if let t = torchRows.first(where: {
                    $0.head == rows[i].head && $0.identities == rows[i].identities && $0.pool == rows[i].pool
                }) {
                    rows[i].torchStepMs = t.stepMs
                    rows[i].torchRssBytes = t.rssBytes
                    if let ms = rows[i].stepMs, ms > 0 { rows[i].speedup = t.stepMs / ms }
                }
            }
        }
        if json {
            for row in rows { try JSONLine.print(row) }
        } else {
            printTable(rows, timed: timed, load: load)
        }
    }

    /// Median step milliseconds, head-reported bytes, and the growth of resident memory.
    private func measure(_ row: Row, timed: Int) throws -> (Double, Int, Int) {
        let base = ResidentMemory.bytes()
        var random = SeededRandom(seed: UInt64(row.identities) &+ UInt64(row.pool))
        let loss = MarginLoss(type: .am, scale: 32, margin: 0.4)
        let head: ClassificationHead
        switch row.head {
        case "ffc":
            head = FFCHead(
                pool: try ClassPool(capacity: row.pool, featureDim: featDim, seed: 1), loss: loss)
        case "fc":
            head = MarginFCHead(identities: row.identities, featureDim: featDim, loss: loss, seed: 1)
        default:
            head = MarginFCHead(
                identities: row.identities, featureDim: featDim, loss: loss, sampleRate: pfcRate, seed: 1)
        }
        var times: [Double] = []
        for i in 0...timed {
            let batch = simulatedBatch(identities: row.identities, random: &random)
            let start = DispatchTime.now().uptimeNanoseconds
            _ = head.forwardBackward(batch)
            head.update(learningRate: 0.1)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if i > 0 { times.append(ms) }
        }
        return (Harness.median(times), head.residentBytes, ResidentMemory.bytes() - base)
    }

    /// B identity pairs plus B instance labels, uniform over the identities; random unit features.
    private func simulatedBatch(identities n: Int, random: inout SeededRandom) -> HeadBatch {
        let b = batchSize
        let pairs = (0..<b).map { _ in Int(random.next() % UInt64(n)) }
        let instances = (0..<b).map { _ in Int(random.next() % UInt64(n)) }
        let labelsX = pairs + instances[..<(b / 2)]
        let labelsY = pairs + instances[(b / 2)...]
        func features() -> [Float] {
            var out = [Float](repeating: 0, count: labelsX.count * featDim)
            for i in out.indices { out[i] = random.unit() - 0.5 }
            L2Normalize.normalizeRows(&out, dim: featDim)
            return out
        }
        return HeadBatch(
            probeX: features(), probeY: features(), labelsX: labelsX, labelsY: labelsY,
            galleryX: features(),
            galleryY: features(), pairRows: b, step: 0)
    }

    struct TorchRow: Codable {
        var head: String
        var identities: Int
        var pool: Int
        var stepMs: Double
        var rssBytes: Int
        enum CodingKeys: String, CodingKey {
            case head, identities, pool
            case stepMs = "step_ms"
            case rssBytes = "rss_bytes"
        }
    }

    /// Runs the PyTorch reference on the rows that fit; nil when python3 or torch is missing.
    private func runTorch(_ rows: [Row], timed: Int) -> [TorchRow]? {
        guard !rows.isEmpty else { return nil }
        let spec = rows.map { "\($0.head):\($0.identities):\($0.pool)" }.joined(separator: ",")
        let parsed = PythonReference(script: torchScript).rows(
            TorchRow.self,
            ["--rows", spec, "--batch", "\(batchSize)", "--dim", "\(featDim)", "--runs", "\(timed)"])
        return parsed.isEmpty ? nil : parsed
    }

    private func printTable(_ rows: [Row], timed: Int, load: String) {
        func mib(_ b: Double?) -> String { b.map { String(format: "%.0f MiB", $0 / 1_048_576) } ?? "-" }
        func ms(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "-" }
        print(
            "head step (batch \(batchSize) pairs → \(batchSize + batchSize / 2) probe rows/pass, D=\(featDim), median of \(timed), load \(load), OpenBLAS core \(HeadBLAS.coreName))"
        )
        let table = TextTable(
            [
                .init("head", 12), .init("identities", 12), .init("pool/rate", 12), .init("step ms", 12),
                .init("allocated", 12), .init("rss growth", 12), .init("torch ms", 12), .init("torch rss", 12),
                .init("speedup", 12),
            ], separator: "", minimumFill: 1)
        print(table.header)
        for r in rows {
            let pool = r.head == "ffc" ? "\(r.pool)" : (r.head == "pfc" ? "r=\(r.pool)%" : "-")
            let cells = [r.head, "\(r.identities)", pool]
            if r.fits {
                let measured = [
                    ms(r.stepMs), mib(r.allocatedBytes.map(Double.init)), mib(r.rssBytes.map(Double.init)),
                    ms(r.torchStepMs), mib(r.torchRssBytes.map(Double.init)),
                    r.speedup.map { String(format: "%.2fx", $0) } ?? "-",
                ]
                print(table.line(cells + measured))
            } else {
                print(
                    table.line(cells)
                        + "does not fit: needs \(mib(r.requiredBytes)) > budget \(mib(budgetGib * 1_073_741_824))")
            }
        }
    }
}
