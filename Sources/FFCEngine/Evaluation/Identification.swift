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
// Candidates stream through in blocks of `blockRows` (one sgemm P×C×d each, then a parallel scan
// keeping each probe's best candidate and the histograms), so memory is P×d + C×d + P×C floats
// however many distractors there are.
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
    /// Wall time in sgemm, in the scans, and reading/normalising distractor blocks.
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
        case .dimMismatch(let what, let dim, let expected): return "\(what): embeddings are \(dim)-d, expected \(expected)-d"
        }
    }
}

public enum Identification {
    public static let histogramBins = 1 << 16
    public static let farTargets: [Double] = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]

    /// Scores every probe against gallery ∪ distractors; see the file header for the protocol.
    /// `normalize` L2-normalises every row first (pass false for rows already of unit length).
    /// - Complexity: O(P × (G + D) × d) time; O((P + blockRows) × d + P × blockRows) memory.
    public static func evaluate(
        probes: [Float], probeLabels: [Int], gallery: [Float], galleryLabels: [Int],
        distractors: any DistractorSource, dim: Int, normalize: Bool = true, blockRows: Int = 4096
    ) throws -> IdentificationResult {
        for (what, values, labels) in [("probes", probes, probeLabels), ("gallery", gallery, galleryLabels)] {
            guard dim > 0, values.count % dim == 0 else { throw IdentificationError.shape(what: what, values: values.count, dim: dim) }
            guard labels.count == values.count / dim else {
                throw IdentificationError.labelCount(what: what, labels: labels.count, rows: values.count / dim)
            }
        }
        guard distractors.count == 0 || distractors.dim == dim else {
            throw IdentificationError.dimMismatch(what: "distractors", dim: distractors.dim, expected: dim)
        }
        let p = probeLabels.count, g = galleryLabels.count, dCount = distractors.count
        var probeRows = probes
        var galleryRows = gallery
        if normalize {
            normalizeRows(&probeRows, dim: dim)
            normalizeRows(&galleryRows, dim: dim)
        }
        let block = max(1, blockRows)
        var scan = Scan(probes: p, bins: histogramBins)
        var scores = [Float](repeating: 0, count: p * min(block, max(g, dCount, 1)))
        var candidates = [Float](repeating: 0, count: min(block, max(g, dCount, 1)) * dim)
        var gemmSeconds = 0.0, scanSeconds = 0.0, readSeconds = 0.0
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

        // Gallery first (labels decide genuine/impostor), then distractors (all impostors).
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
                    try distractors.read(start - g, n, into: UnsafeMutableBufferPointer(rebasing: $0[0..<(n * dim)]))
                }
                if normalize { normalizeRows(&candidates, dim: dim, rows: n) }
            }
            let t1 = clock.now
            probeRows.withUnsafeBufferPointer { a in
                candidates.withUnsafeBufferPointer { b in
                    scores.withUnsafeMutableBufferPointer { s in
                        ScoreGEMM.scores(a.baseAddress!, rows: p, b.baseAddress!, cols: n, dim: dim, into: s.baseAddress!)
                    }
                }
            }
            let t2 = clock.now
            scan.add(
                scores: scores, columns: n, firstCandidate: start,
                labels: inGallery ? (probeLabels, Array(galleryLabels[start..<(start + n)])) : nil)
            let t3 = clock.now
            readSeconds += seconds(t1 - t0)
            gemmSeconds += seconds(t2 - t1)
            scanSeconds += seconds(t3 - t2)
            start += n
        }

        var hits = 0
        for i in 0..<p where scan.best[i] >= 0 && scan.best[i] < g && galleryLabels[scan.best[i]] == probeLabels[i] {
            hits += 1
        }
        let genuineCount = scan.genuine.reduce(0, +), impostorCount = scan.impostor.reduce(0, +)
        return IdentificationResult(
            probeCount: p, galleryCount: g, distractorCount: dCount, rank1: p == 0 ? 0 : Double(hits) / Double(p),
            genuineCount: genuineCount, impostorCount: impostorCount,
            tarAtFar: tarAtFar(genuine: scan.genuine, impostor: scan.impostor),
            gemmSeconds: gemmSeconds, scanSeconds: scanSeconds, readSeconds: readSeconds)
    }

    /// TAR at each reportable FAR target from the two histograms (see the file header).
    static func tarAtFar(genuine: [Int], impostor: [Int]) -> [IdentificationTAR] {
        let bins = impostor.count
        let nGen = genuine.reduce(0, +), nImp = impostor.reduce(0, +)
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
            var lo = 0, hi = bins
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

/// Per-probe best candidate and the score histograms, filled one score block at a time by
/// parallel workers over disjoint probe rows.
private struct Scan {
    var best: [Int]
    var bestScore: [Float]
    var genuine: [Int]
    var impostor: [Int]
    let bins: Int

    init(probes: Int, bins: Int) {
        best = [Int](repeating: -1, count: probes)
        bestScore = [Float](repeating: -.infinity, count: probes)
        genuine = [Int](repeating: 0, count: bins)
        impostor = [Int](repeating: 0, count: bins)
        self.bins = bins
    }

    /// Scans a (P × columns) score block. `labels` = (probe labels, this block's gallery labels)
    /// for gallery blocks; nil for distractor blocks, whose scores are all impostors.
    mutating func add(scores: [Float], columns: Int, firstCandidate: Int, labels: ([Int], [Int])?) {
        let probes = best.count
        guard probes > 0 else { return }
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, probes))
        let bins = self.bins
        let halfBins = Float(bins / 2)
        // Per worker: UInt32 counts (a block adds < 2^32 per worker), genuine then impostor.
        let local = UnsafeMutablePointer<UInt32>.allocate(capacity: workers * 2 * bins)
        local.initialize(repeating: 0, count: workers * 2 * bins)
        defer { local.deallocate() }
        best.withUnsafeMutableBufferPointer { bestPtr in
            bestScore.withUnsafeMutableBufferPointer { bestScorePtr in
                scores.withUnsafeBufferPointer { s in
                    nonisolated(unsafe) let bp = bestPtr, bsp = bestScorePtr, sp = s, counts = local
                    DispatchQueue.concurrentPerform(iterations: workers) { w in
                        let gen = counts + w * 2 * bins
                        let imp = gen + bins
                        for i in stride(from: w, to: probes, by: workers) {
                            let row = sp.baseAddress! + i * columns
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
                    }
                }
            }
        }
        for w in 0..<workers {
            let gen = local + w * 2 * bins
            for b in 0..<bins where gen[b] != 0 || gen[bins + b] != 0 {
                genuine[b] += Int(gen[b])
                impostor[b] += Int(gen[bins + b])
            }
        }
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
    var t0 = -Float.infinity, t1 = t0, t2 = t0, t3 = t0
    var c = 0
    while c + 4 <= n {
        let v0 = row[c], v1 = row[c + 1], v2 = row[c + 2], v3 = row[c + 3]
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
