// Evaluation: MegaFace-style identification among distractors.
//
// Inputs: probes with identity labels, a gallery of enrolled embeddings with labels, and
// distractors (embeddings of people in neither set). Scores are cosine similarities (dot
// products of L2-normalised rows). Dimension letters: P probes, G gallery, D distractors,
// C candidates in one block, d embedding size.
//   rank-1   share of probes whose highest-scoring candidate among gallery ∪ distractors is a
//            gallery entry of the probe's identity (ties: the earlier candidate, gallery first;
//            a probe whose identity has no gallery entry counts as a miss).
//   TAR@FAR  genuine scores = probe × same-identity gallery entries; impostor scores = probe ×
//            other-identity gallery entries and × every distractor. Both go into fixed
//            histograms of 2^16 bins over [-1, 1] (bin = ⌊(s + 1) · bins/2⌋, clamped) — the fast
//            method of the original MegaFace tools — and a threshold at a bin edge accepts the
//            scores in that bin and above. For a target FAR the lowest edge whose impostor share
//            is ≤ the target is used; targets are reported while impostors × FAR ≥ 1.
// Candidates stream through in blocks of `blockRows`. Within a block, each worker thread takes
// chunks of `probeChunk` probes, scores a chunk with a single-threaded sgemm (chunk × C × d) and
// scans it at once while it is in cache, keeping each probe's best candidate and the
// histograms. Memory is P×d + C×d + workers × probeChunk × C floats, however many distractors.
import Dispatch
import Foundation

/// Where distractor embeddings come from, a block of rows at a time.
public protocol DistractorSource {
    var count: Int { get }
    var dim: Int { get }
    /// Writes rows `start ..< start + n` (n × dim floats) into `out`.
    func read(_ start: Int, _ n: Int, into out: UnsafeMutableBufferPointer<Float>) throws
}

/// Distractors already in memory (rows of `dim` floats).
public struct InMemoryDistractors: DistractorSource {
    public let values: [Float]
    public let dim: Int
    public var count: Int { dim == 0 ? 0 : values.count / dim }
    public init(_ values: [Float], dim: Int) {
        self.values = values
        self.dim = dim
    }
    public func read(_ start: Int, _ n: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        values.withUnsafeBufferPointer { v in
            out.baseAddress!.update(from: v.baseAddress! + start * dim, count: n * dim)
        }
    }
}

/// Distractors read from an (n × d) float32 `.npy` file block by block, never all at once.
extension NPYFile: DistractorSource {
    public var count: Int { rows }
    public var dim: Int { rowLength }
    public func read(_ start: Int, _ n: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        try readRows(start, count: n, into: out)
    }
}

/// Seeded pseudo-random unit vectors, for benchmarks at a million distractors without a file.
public struct RandomDistractors: DistractorSource {
    public let count: Int
    public let dim: Int
    public let seed: UInt64
    public init(count: Int, dim: Int, seed: UInt64) {
        self.count = count
        self.dim = dim
        self.seed = seed
    }
    public func read(_ start: Int, _ n: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        for r in 0..<n {
            // SplitMix64 per row, so any block is reproducible on its own.
            var state = seed &+ UInt64(start + r) &* 0x9E37_79B9_7F4A_7C15
            var norm: Float = 0
            for k in 0..<dim {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                let v = Float(z >> 40) / Float(1 << 24) - 0.5
                out[r * dim + k] = v
                norm += v * v
            }
            let inv = 1 / max(norm.squareRoot(), 1e-12)
            for k in 0..<dim { out[r * dim + k] *= inv }
        }
    }
}

public struct IdentificationTAR: Sendable, Equatable {
    public var farTarget: Double
    /// Lower edge of the first accepted bin (a cosine).
    public var threshold: Double
    public var far: Double
    public var tar: Double
}

public struct IdentificationResult: Sendable {
    public var probeCount: Int
    public var galleryCount: Int
    public var distractorCount: Int
    public var rank1: Double
    public var genuineCount: Int
    public var impostorCount: Int
    public var tarAtFar: [IdentificationTAR]
    /// Wall time scoring (split between sgemm and scans by the workers' measured shares), and
    /// reading/normalising distractor blocks.
    public var gemmSeconds: Double
    public var scanSeconds: Double
    public var readSeconds: Double
    /// Probe × candidate scores computed: P × (G + D).
    public var scoredPairs: Int { probeCount * (galleryCount + distractorCount) }
}

public enum IdentificationError: Error, CustomStringConvertible, Equatable {
    case shape(what: String, values: Int, dim: Int)
    case labelCount(what: String, labels: Int, rows: Int)
    case dimMismatch(what: String, dim: Int, expected: Int)

    public var description: String {
        switch self {
        case .shape(let what, let values, let dim): return "\(what): \(values) values are not whole \(dim)-d rows"
        case .labelCount(let what, let labels, let rows): return "\(what): \(labels) labels for \(rows) embeddings"
        case .dimMismatch(let what, let dim, let expected):
            return "\(what): embeddings are \(dim)-d, expected \(expected)-d"
        }
    }
}

public enum Identification {
    public static let histogramBins = 1 << 16
    /// Probes a worker scores and scans in one go (chunk × blockRows scores stay in cache).
    public static let probeChunk = 256
    public static let farTargets: [Double] = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]

    /// Scores every probe against gallery ∪ distractors; see the file header for the protocol.
    /// `normalize` L2-normalises every row first (pass false for rows already of unit length).
    /// OpenBLAS runs single-threaded during the call (a process-wide setting, restored after):
    /// the workers run one sgemm each, so do not train on another thread at the same time.
    /// - Complexity: O(P × (G + D) × d) time; O((P + blockRows) × d + workers × probeChunk × blockRows) memory.
    public static func evaluate(
        probes: [Float], probeLabels: [Int], gallery: [Float], galleryLabels: [Int],
        distractors: any DistractorSource, dim: Int, normalize: Bool = true, blockRows: Int = 4096
    ) throws -> IdentificationResult {
        for (what, values, labels) in [("probes", probes, probeLabels), ("gallery", gallery, galleryLabels)] {
            guard dim > 0, values.count % dim == 0 else {
                throw IdentificationError.shape(what: what, values: values.count, dim: dim)
            }
            guard labels.count == values.count / dim else {
                throw IdentificationError.labelCount(what: what, labels: labels.count, rows: values.count / dim)
            }
        }
        guard distractors.count == 0 || distractors.dim == dim else {
            throw IdentificationError.dimMismatch(what: "distractors", dim: distractors.dim, expected: dim)
        }
        let p = probeLabels.count
        let g = galleryLabels.count
        let dCount = distractors.count
        var probeRows = probes
        var galleryRows = gallery
        if normalize {
            normalizeRows(&probeRows, dim: dim)
            normalizeRows(&galleryRows, dim: dim)
        }
        let block = max(1, blockRows)
        let blockCapacity = min(block, max(g, dCount, 1))
        var scan = Scan(probes: p, bins: histogramBins, chunkRows: probeChunk, columns: blockCapacity)
        var candidates = [Float](repeating: 0, count: blockCapacity * dim)
        var scoreSeconds = 0.0
        var gemmShare = 0.0
        var readSeconds = 0.0
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }

        // Gallery first (labels decide genuine/impostor), then distractors (all impostors).
        try ScoreGEMM.singleThreaded {
            var start = 0
            while start < g + dCount {
                let inGallery = start < g
                let n = inGallery ? min(block, g - start) : min(block, g + dCount - start)
                let t0 = clock.now
                if inGallery {
                    galleryRows.withUnsafeBufferPointer { src in
                        candidates.withUnsafeMutableBufferPointer {
                            $0.baseAddress!.update(from: src.baseAddress! + start * dim, count: n * dim)
                        }
                    }
                } else {
                    try candidates.withUnsafeMutableBufferPointer {
                        try distractors.read(
                            start - g, n, into: UnsafeMutableBufferPointer(rebasing: $0[0..<(n * dim)]))
                    }
                    if normalize { normalizeRows(&candidates, dim: dim, rows: n) }
                }
                let t1 = clock.now
                let share = scan.add(
                    probes: probeRows, candidates: candidates, dim: dim, columns: n, firstCandidate: start,
                    labels: inGallery ? (probeLabels, Array(galleryLabels[start..<(start + n)])) : nil)
                let t2 = clock.now
                readSeconds += seconds(t1 - t0)
                scoreSeconds += seconds(t2 - t1)
                gemmShare += seconds(t2 - t1) * share
                start += n
            }
        }
        let gemmSeconds = gemmShare
        let scanSeconds = scoreSeconds - gemmShare

        var hits = 0
        for i in 0..<p where scan.best[i] >= 0 && scan.best[i] < g && galleryLabels[scan.best[i]] == probeLabels[i] {
            hits += 1
        }
        let genuineCount = scan.genuine.reduce(0, +)
        let impostorCount = scan.impostor.reduce(0, +)
        return IdentificationResult(
            probeCount: p, galleryCount: g, distractorCount: dCount, rank1: p == 0 ? 0 : Double(hits) / Double(p),
            genuineCount: genuineCount, impostorCount: impostorCount,
            tarAtFar: tarAtFar(genuine: scan.genuine, impostor: scan.impostor),
            gemmSeconds: gemmSeconds, scanSeconds: scanSeconds, readSeconds: readSeconds)
    }

    /// TAR at each reportable FAR target from the two histograms (see the file header).
    static func tarAtFar(genuine: [Int], impostor: [Int]) -> [IdentificationTAR] {
        let bins = impostor.count
        let nGen = genuine.reduce(0, +)
        let nImp = impostor.reduce(0, +)
        guard nGen > 0, nImp > 0 else { return [] }
        // above[b] = scores in bins b…bins-1; above[bins] = 0 (accept nothing).
        var impAbove = [Int](repeating: 0, count: bins + 1)
        var genAbove = [Int](repeating: 0, count: bins + 1)
        for b in stride(from: bins - 1, through: 0, by: -1) {
            impAbove[b] = impAbove[b + 1] + impostor[b]
            genAbove[b] = genAbove[b + 1] + genuine[b]
        }
        var out: [IdentificationTAR] = []
        for target in farTargets where Double(nImp) * target >= 1 {
            let allowed = target * Double(nImp)
            var lo = 0
            var hi = bins
            while lo < hi {  // first edge whose impostor count is within the target
                let mid = (lo + hi) / 2
                if Double(impAbove[mid]) <= allowed { hi = mid } else { lo = mid + 1 }
            }
            out.append(
                IdentificationTAR(
                    farTarget: target, threshold: -1 + 2 * Double(lo) / Double(bins),
                    far: Double(impAbove[lo]) / Double(nImp), tar: Double(genAbove[lo]) / Double(nGen)))
        }
        return out
    }

    static func normalizeRows(_ x: inout [Float], dim: Int, rows: Int? = nil) {
        let n = rows ?? x.count / dim
        x.withUnsafeMutableBufferPointer { v in
            for r in 0..<n {
                var s: Float = 0
                for k in 0..<dim { s += v[r * dim + k] * v[r * dim + k] }
                let inv = 1 / max(s.squareRoot(), 1e-12)
                for k in 0..<dim { v[r * dim + k] *= inv }
            }
        }
    }
}

/// Per-probe best candidate and the score histograms, filled one candidate block at a time by
/// parallel workers, each scoring and scanning its own chunks of probe rows.
private struct Scan {
    var best: [Int]
    var bestScore: [Float]
    var genuine: [Int]
    var impostor: [Int]
    let bins: Int
    let chunkRows: Int
    let workers: Int
    /// Per worker: a chunk × columns score buffer.
    var scores: [Float]

    init(probes: Int, bins: Int, chunkRows: Int, columns: Int) {
        best = [Int](repeating: -1, count: probes)
        bestScore = [Float](repeating: -.infinity, count: probes)
        genuine = [Int](repeating: 0, count: bins)
        impostor = [Int](repeating: 0, count: bins)
        self.bins = bins
        self.chunkRows = max(1, chunkRows)
        workers = max(
            1, min(ProcessInfo.processInfo.activeProcessorCount, (probes + self.chunkRows - 1) / self.chunkRows))
        scores = [Float](repeating: 0, count: workers * self.chunkRows * columns)
    }

    /// Scores all probes against a block of `columns` candidates and scans the scores.
    /// `labels` = (probe labels, this block's gallery labels) for gallery blocks; nil for
    /// distractor blocks, whose scores are all impostors. Returns the share of the workers'
    /// time spent in sgemm.
    mutating func add(
        probes: [Float], candidates: [Float], dim: Int, columns: Int, firstCandidate: Int, labels: ([Int], [Int])?
    ) -> Double {
        let probeCount = best.count
        guard probeCount > 0 else { return 0 }
        let bins = self.bins
        let chunkRows = self.chunkRows
        let workers = self.workers
        let chunks = (probeCount + chunkRows - 1) / chunkRows
        let halfBins = Float(bins / 2)
        // Per worker: UInt32 counts (a block adds < 2^32 per worker), genuine then impostor;
        // then the worker's gemm and scan nanoseconds.
        let local = UnsafeMutablePointer<UInt32>.allocate(capacity: workers * 2 * bins)
        local.initialize(repeating: 0, count: workers * 2 * bins)
        defer { local.deallocate() }
        let timing = UnsafeMutablePointer<UInt64>.allocate(capacity: workers * 2)
        timing.initialize(repeating: 0, count: workers * 2)
        defer { timing.deallocate() }
        best.withUnsafeMutableBufferPointer { bestPtr in
            bestScore.withUnsafeMutableBufferPointer { bestScorePtr in
                scores.withUnsafeMutableBufferPointer { scoreBuffers in
                    probes.withUnsafeBufferPointer { a in
                        candidates.withUnsafeBufferPointer { b in
                            nonisolated(unsafe) let bp = bestPtr
                            nonisolated(unsafe) let bsp = bestScorePtr
                            nonisolated(unsafe) let counts = local
                            nonisolated(unsafe) let times = timing
                            nonisolated(unsafe) let buffers = scoreBuffers
                            nonisolated(unsafe) let pa = a
                            nonisolated(unsafe) let pb = b
                            DispatchQueue.concurrentPerform(iterations: workers) { w in
                                let gen = counts + w * 2 * bins
                                let imp = gen + bins
                                let sp = buffers.baseAddress! + w * chunkRows * columns
                                for chunk in stride(from: w, to: chunks, by: workers) {
                                    let r0 = chunk * chunkRows
                                    let rows = min(chunkRows, probeCount - r0)
                                    let t0 = DispatchTime.now().uptimeNanoseconds
                                    ScoreGEMM.scores(
                                        pa.baseAddress! + r0 * dim, rows: rows, pb.baseAddress!, cols: columns,
                                        dim: dim,
                                        into: sp)
                                    let t1 = DispatchTime.now().uptimeNanoseconds
                                    for i in r0..<(r0 + rows) {
                                        let row = UnsafePointer(sp + (i - r0) * columns)
                                        var top = bsp[i]
                                        var topIndex = -1
                                        if let (probeLabels, galleryLabels) = labels {
                                            let label = probeLabels[i]
                                            for c in 0..<columns {
                                                let v = row[c]
                                                let b = min(max(Int((v + 1) * halfBins), 0), bins - 1)
                                                if galleryLabels[c] == label { gen[b] &+= 1 } else { imp[b] &+= 1 }
                                                if v > top {
                                                    top = v
                                                    topIndex = c
                                                }
                                            }
                                        } else if let (rowTop, c) = scanImpostorRow(
                                            row, columns, imp, halfBins: halfBins, bins: bins, above: top)
                                        {
                                            top = rowTop
                                            topIndex = c
                                        }
                                        if topIndex >= 0 {
                                            bsp[i] = top
                                            bp[i] = firstCandidate + topIndex
                                        }
                                    }
                                    let t2 = DispatchTime.now().uptimeNanoseconds
                                    times[2 * w] += t1 - t0
                                    times[2 * w + 1] += t2 - t1
                                }
                            }
                        }
                    }
                }
            }
        }
        var gemmNanoseconds: UInt64 = 0
        var scanNanoseconds: UInt64 = 0
        for w in 0..<workers {
            gemmNanoseconds += timing[2 * w]
            scanNanoseconds += timing[2 * w + 1]
            let gen = local + w * 2 * bins
            for b in 0..<bins where gen[b] != 0 || gen[bins + b] != 0 {
                genuine[b] += Int(gen[b])
                impostor[b] += Int(gen[bins + b])
            }
        }
        let total = gemmNanoseconds + scanNanoseconds
        return total == 0 ? 0 : Double(gemmNanoseconds) / Double(total)
    }
}

/// Bins every score of a distractor row as an impostor and returns the row's best score and
/// its first column when that beats `above` (the index is looked up by a second pass, rare once
/// a probe has seen a few blocks). Four running maxima keep the loop free of a long dependency.
/// - Complexity: O(n).
@inline(__always)
private func scanImpostorRow(
    _ row: UnsafePointer<Float>, _ n: Int, _ imp: UnsafeMutablePointer<UInt32>, halfBins: Float, bins: Int,
    above: Float
) -> (Float, Int)? {
    @inline(__always) func bin(_ v: Float) -> Int { min(max(Int((v + 1) * halfBins), 0), bins - 1) }
    var t0 = -Float.infinity
    var t1 = t0
    var t2 = t0
    var t3 = t0
    var c = 0
    while c + 4 <= n {
        let v0 = row[c]
        let v1 = row[c + 1]
        let v2 = row[c + 2]
        let v3 = row[c + 3]
        t0 = max(t0, v0)
        t1 = max(t1, v1)
        t2 = max(t2, v2)
        t3 = max(t3, v3)
        imp[bin(v0)] &+= 1
        imp[bin(v1)] &+= 1
        imp[bin(v2)] &+= 1
        imp[bin(v3)] &+= 1
        c += 4
    }
    while c < n {
        t0 = max(t0, row[c])
        imp[bin(row[c])] &+= 1
        c += 1
    }
    let top = max(max(t0, t1), max(t2, t3))
    guard top > above, let first = (0..<n).first(where: { row[$0] == top }) else { return nil }
    return (top, first)
}
