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
// Candidates stream through in blocks of `blockRows`, two buffers deep: while the workers score
// one block, one of them reads (and normalises) the next into the other buffer. A block is cut
// into tasks of `probeChunk` probes × `tileColumns` candidates, handed out one at a time to one
// worker per core; a task is one single-threaded sgemm into the worker's score tile, small
// enough to stay in its L2 (OpenBLAS runs near its peak on such shapes, and well below it when
// the output spills), and the scan of that tile right after: each probe's best candidate
// (per worker, merged at the end) and the histogram counts (per worker, in 32-bit counters
// folded into totals before they could overflow). Memory is P×d + 2·C×d floats plus per
// worker a tile, 2 histograms and P best scores, however many distractors.
import CScoreScan
import Dispatch
import Foundation
import Synchronization

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
            // One stream per row, so any block is reproducible on its own.
            var random = SeededRandom(seed: seed &+ UInt64(start + r) &* 0x9E37_79B9_7F4A_7C15)
            for k in 0..<dim { out[r * dim + k] = random.unit() - 0.5 }
            _ = L2Normalize.normalizeRow(out.baseAddress! + r * dim, dim: dim)
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
    /// Wall time of the whole evaluation (normalising, reading, scoring, merging).
    public var seconds: Double
    /// Thread time summed over the workers: in sgemm, in the scans, and reading/normalising
    /// candidate blocks (mostly overlapped with scoring).
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
    /// Probes in one sgemm call.
    public static let probeChunk = 256
    /// Candidates in one sgemm call; a probeChunk × tileColumns score tile is 512 KiB.
    public static let tileColumns = 512
    public static let farTargets: [Double] = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]

    /// Scores every probe against gallery ∪ distractors; see the file header for the protocol.
    /// `normalize` L2-normalises every row first (pass false for rows already of unit length).
    /// OpenBLAS runs single-threaded during the call (a process-wide setting, restored after):
    /// the workers run one sgemm each, so do not train on another thread at the same time.
    /// - Complexity: O(P × (G + D) × d) time; O((P + blockRows) × d + workers × (P + 2^16 + probeChunk × tileColumns))
    ///   memory.
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
        let clock = ContinuousClock()
        let started = clock.now
        let p = probeLabels.count
        let g = galleryLabels.count
        let dCount = distractors.count
        var probeRows = probes
        var galleryRows = gallery
        if normalize {
            L2Normalize.normalizeRows(&probeRows, dim: dim)
            L2Normalize.normalizeRows(&galleryRows, dim: dim)
        }
        // Gallery blocks first (labels decide genuine/impostor), then distractor blocks.
        let block = max(1, blockRows)
        var spans: [Range<Int>] = []
        for (lower, upper) in [(0, g), (g, g + dCount)] {
            for start in stride(from: lower, to: upper, by: block) { spans.append(start..<min(start + block, upper)) }
        }
        let capacity = spans.map(\.count).max() ?? 0
        let buffers = [0, 1].map { _ in UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, capacity * dim)) }
        defer { for b in buffers { b.deallocate() } }
        /// Candidates `span` into `out`: gallery rows copied, distractor rows read (and normalised).
        func load(_ span: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) throws {
            let rows = UnsafeMutableBufferPointer(rebasing: out[0..<(span.count * dim)])
            if span.lowerBound < g {
                galleryRows.withUnsafeBufferPointer {
                    rows.baseAddress!.update(from: $0.baseAddress! + span.lowerBound * dim, count: rows.count)
                }
            } else {
                try distractors.read(span.lowerBound - g, span.count, into: rows)
                if normalize { L2Normalize.normalizeRows(rows, dim: dim) }
            }
        }

        let scan = Scan(probes: p, bins: histogramBins, chunkRows: probeChunk, tileColumns: tileColumns)
        let firstRead = clock.now
        if let first = spans.first { try load(first, into: buffers[0]) }
        let firstReadSeconds = seconds(clock.now - firstRead)
        try probeRows.withUnsafeBufferPointer { probePtr in
            try probeLabels.withUnsafeBufferPointer { probeLabelPtr in
                try galleryLabels.withUnsafeBufferPointer { galleryLabelPtr in
                    do {
                        for (i, span) in spans.enumerated() {
                            let next = i + 1 < spans.count ? spans[i + 1] : nil
                            try scan.add(
                                probes: probePtr.baseAddress!, candidates: UnsafePointer(buffers[i % 2].baseAddress!),
                                dim: dim, columns: span.count, firstCandidate: span.lowerBound,
                                labels: span.lowerBound < g
                                    ? (probeLabelPtr.baseAddress!, galleryLabelPtr.baseAddress! + span.lowerBound)
                                    : nil,
                                meanwhile: next.map { next in { try load(next, into: buffers[(i + 1) % 2]) } })
                        }
                    }
                }
            }
        }
        let (best, genuine, impostor) = scan.merged()

        var hits = 0
        for i in 0..<p where best[i] >= 0 && best[i] < g && galleryLabels[best[i]] == probeLabels[i] {
            hits += 1
        }
        return IdentificationResult(
            probeCount: p, galleryCount: g, distractorCount: dCount, rank1: p == 0 ? 0 : Double(hits) / Double(p),
            genuineCount: genuine.reduce(0, +), impostorCount: impostor.reduce(0, +),
            tarAtFar: tarAtFar(genuine: genuine, impostor: impostor), seconds: seconds(clock.now - started),
            gemmSeconds: scan.seconds(.gemm), scanSeconds: scan.seconds(.scan),
            readSeconds: scan.seconds(.read) + firstReadSeconds)
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
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
}

/// Per-worker best candidates and histograms, filled block by block by one worker per core,
/// each taking probeChunk × tileColumns tasks from a shared counter (see the file header).
/// Unchecked Sendable: workers write only their own slices of the buffers below; the calling
/// thread reads them after `concurrentPerform` returns.
private final class Scan: @unchecked Sendable {
    enum Phase: Int { case gemm, scan, read }

    let probes: Int
    let bins: Int
    let chunkRows: Int
    let tileColumns: Int
    let workers: Int
    /// Per worker, P each: best score so far and its candidate index (-1: none yet).
    let bestScore: UnsafeMutablePointer<Float>
    let best: UnsafeMutablePointer<Int>
    /// Per worker: genuine then impostor counts, 2 × bins 32-bit counters, and the pairs
    /// counted into them since they were last folded into `totals` (same layout, Int).
    let counts: UnsafeMutablePointer<UInt32>
    let pending: UnsafeMutablePointer<Int>
    let totals: UnsafeMutablePointer<Int>
    /// Per worker: a chunkRows × tileColumns score tile.
    let tiles: UnsafeMutablePointer<Float>
    /// Per worker: nanoseconds in each Phase.
    let nanoseconds: UnsafeMutablePointer<UInt64>

    init(probes: Int, bins: Int, chunkRows: Int, tileColumns: Int) {
        self.probes = probes
        self.bins = bins
        self.chunkRows = max(1, chunkRows)
        self.tileColumns = max(1, tileColumns)
        workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        bestScore = .allocate(capacity: workers * probes)
        bestScore.initialize(repeating: -.infinity, count: workers * probes)
        best = .allocate(capacity: workers * probes)
        best.initialize(repeating: -1, count: workers * probes)
        counts = .allocate(capacity: workers * 2 * bins)
        counts.initialize(repeating: 0, count: workers * 2 * bins)
        pending = .allocate(capacity: workers)
        pending.initialize(repeating: 0, count: workers)
        totals = .allocate(capacity: workers * 2 * bins)
        totals.initialize(repeating: 0, count: workers * 2 * bins)
        tiles = .allocate(capacity: workers * self.chunkRows * self.tileColumns)
        tiles.initialize(repeating: 0, count: workers * self.chunkRows * self.tileColumns)
        nanoseconds = .allocate(capacity: workers * 3)
        nanoseconds.initialize(repeating: 0, count: workers * 3)
    }

    deinit {
        bestScore.deallocate()
        best.deallocate()
        counts.deallocate()
        pending.deallocate()
        totals.deallocate()
        tiles.deallocate()
        nanoseconds.deallocate()
    }

    /// Scores all probes against a block of `columns` candidates (rows of `candidates`, the
    /// first being candidate `firstCandidate`) and scans the scores. `labels` = (probe labels,
    /// this block's gallery labels) for gallery blocks; nil for distractor blocks, whose scores
    /// are all impostors. `meanwhile` (reading the next block) runs on the first free worker.
    /// - Complexity: O(P × columns × d) time, no allocation.
    func add(
        probes a: UnsafePointer<Float>, candidates b: UnsafePointer<Float>, dim: Int, columns: Int,
        firstCandidate: Int, labels: (UnsafePointer<Int>, UnsafePointer<Int>)?, meanwhile: (() throws -> Void)?
    ) throws {
        let chunks = (probes + chunkRows - 1) / chunkRows
        let tasks = chunks * ((columns + tileColumns - 1) / tileColumns)
        let side = meanwhile == nil ? 0 : 1
        let counter = Atomic<Int>(0)
        nonisolated(unsafe) var sideError: (any Error)?
        nonisolated(unsafe) let (a, b, labels, meanwhile) = (a, b, labels, meanwhile)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            while true {
                let ticket = counter.add(1, ordering: .relaxed).oldValue
                if ticket < side, let meanwhile {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    do { try meanwhile() } catch { sideError = error }
                    nanoseconds[3 * w + Phase.read.rawValue] += DispatchTime.now().uptimeNanoseconds - t0
                    continue
                }
                let task = ticket - side
                guard task < tasks else { return }
                // Tile-major: a worker meets a chunk's tiles in candidate order, so its strict
                // "better than" keeps the earliest of equal best scores.
                let c0 = (task / chunks) * tileColumns
                let r0 = (task % chunks) * chunkRows
                score(
                    worker: w, probes: a, rows: r0..<min(r0 + chunkRows, probes), candidates: b,
                    columns: c0..<min(c0 + tileColumns, columns), dim: dim, firstCandidate: firstCandidate,
                    labels: labels)
            }
        }
        if let sideError { throw sideError }
    }

    /// One task on worker `w`: sgemm of probe `rows` × candidate `columns` into the worker's
    /// tile, then its scan. O(rows × columns × d).
    private func score(
        worker w: Int, probes a: UnsafePointer<Float>, rows: Range<Int>, candidates b: UnsafePointer<Float>,
        columns: Range<Int>, dim: Int, firstCandidate: Int, labels: (UnsafePointer<Int>, UnsafePointer<Int>)?
    ) {
        let tile = tiles + w * chunkRows * tileColumns
        let n = columns.count
        let t0 = DispatchTime.now().uptimeNanoseconds
        ScoreGEMM.scores(
            a + rows.lowerBound * dim, rows: rows.count, b + columns.lowerBound * dim, cols: n, dim: dim, into: tile)
        let t1 = DispatchTime.now().uptimeNanoseconds
        let gen = counts + w * 2 * bins
        let imp = gen + bins
        let halfBins = Float(bins / 2)
        let first = firstCandidate + columns.lowerBound
        for i in rows {
            let row = UnsafePointer(tile + (i - rows.lowerBound) * n)
            let slot = w * probes + i
            if let (probeLabels, galleryLabels) = labels {
                let label = probeLabels[i]
                let blockLabels = galleryLabels + columns.lowerBound
                var top = bestScore[slot]
                var topIndex = -1
                for c in 0..<n {
                    let v = row[c]
                    let b = min(max(Int((v + 1) * halfBins), 0), bins - 1)
                    if blockLabels[c] == label { gen[b] &+= 1 } else { imp[b] &+= 1 }
                    if v > top {
                        top = v
                        topIndex = c
                    }
                }
                if topIndex >= 0 {
                    bestScore[slot] = top
                    best[slot] = first + topIndex
                }
            } else {
                let c = ffc_scan_impostor_row(row, n, imp, halfBins, Int32(bins - 1), bestScore + slot)
                if c >= 0 { best[slot] = first + c }
            }
        }
        pending[w] += rows.count * n
        if pending[w] > Int(UInt32.max) - chunkRows * tileColumns { fold(worker: w) }
        let t2 = DispatchTime.now().uptimeNanoseconds
        nanoseconds[3 * w + Phase.gemm.rawValue] += t1 - t0
        nanoseconds[3 * w + Phase.scan.rawValue] += t2 - t1
    }

    /// Adds worker `w`'s 32-bit counts to its totals and clears them. O(bins).
    private func fold(worker w: Int) {
        let local = counts + w * 2 * bins
        let total = totals + w * 2 * bins
        for b in 0..<(2 * bins) where local[b] != 0 {
            total[b] += Int(local[b])
            local[b] = 0
        }
        pending[w] = 0
    }

    /// Each probe's best candidate over all workers (ties: the earlier candidate) and the
    /// genuine and impostor histograms. O(workers × (P + bins)).
    func merged() -> (best: [Int], genuine: [Int], impostor: [Int]) {
        for w in 0..<workers { fold(worker: w) }
        var bestIndex = [Int](repeating: -1, count: probes)
        for i in 0..<probes {
            var top = -Float.infinity
            for w in 0..<workers where best[w * probes + i] >= 0 {
                let s = bestScore[w * probes + i]
                let index = best[w * probes + i]
                if bestIndex[i] < 0 || s > top || (s == top && index < bestIndex[i]) {
                    top = s
                    bestIndex[i] = index
                }
            }
        }
        var genuine = [Int](repeating: 0, count: bins)
        var impostor = [Int](repeating: 0, count: bins)
        for w in 0..<workers {
            for b in 0..<bins {
                genuine[b] += totals[w * 2 * bins + b]
                impostor[b] += totals[w * 2 * bins + bins + b]
            }
        }
        return (bestIndex, genuine, impostor)
    }

    /// Thread time summed over the workers in `phase`.
    func seconds(_ phase: Phase) -> Double {
        (0..<workers).reduce(0) { $0 + Double(nanoseconds[3 * $1 + phase.rawValue]) } / 1e9
    }
}
