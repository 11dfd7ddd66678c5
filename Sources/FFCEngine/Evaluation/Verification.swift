// Evaluation: face verification and identification protocols (10-fold pair verification with
// TAR at FAR, MegaFace-style identification among distractors), the test-set inputs they read
// (insightface `.bin` files, pair lists) and the numbers users compare with the Python tools.
//
// This file: the standard 10-fold verification protocol as insightface's arcface_torch
// `eval/verification.py` computes it. Embeddings are L2-normalised; a pair's score is the
// squared euclidean distance d (0…4); "same" is predicted when d < threshold. Folds are
// scikit-learn's KFold(10, shuffle=False) over the pair list in order. For each fold the
// threshold in 0, 0.01, …, 3.99 with the best accuracy on the other nine folds (the first one
// on ties) is applied to the fold. TAR at FAR follows `calculate_val`: thresholds 0, 0.001, …,
// 3.999, and the threshold for a target FAR interpolated on the training folds' FAR curve.
import Foundation

/// One pair of embedding rows and whether they show the same identity.
public struct VerificationPair: Sendable, Equatable {
    public var first: Int
    public var second: Int
    public var same: Bool
    public init(_ first: Int, _ second: Int, same: Bool) {
        self.first = first
        self.second = second
        self.same = same
    }
}

/// One point of the mean ROC curve (rates averaged over the test folds).
public struct ROCPoint: Sendable, Equatable {
    public var threshold: Double
    public var falseAcceptRate: Double
    public var trueAcceptRate: Double
}

/// True accept rate at one target false accept rate, as mean ± std over the folds.
public struct TARAtFAR: Sendable, Equatable {
    public var farTarget: Double
    public var tarMean: Double
    public var tarStd: Double
    /// The false accept rate the interpolated thresholds reached on the test folds (mean).
    public var farMean: Double
}

public struct VerificationResult: Sendable, Equatable {
    public var pairCount: Int
    public var foldAccuracy: [Double]
    public var accuracyMean: Double
    /// Population standard deviation over the folds (numpy's `np.std`).
    public var accuracyStd: Double
    /// Best squared-distance threshold chosen on each fold's nine training folds.
    public var foldThreshold: [Double]
    /// Mean of `foldThreshold`: the squared-distance threshold to use on new pairs.
    public var threshold: Double
    public var roc: [ROCPoint]
    /// Only targets the pairs allow: at least one impostor pair at that rate (impostors × FAR ≥ 1).
    public var tarAtFar: [TARAtFAR]
}

public enum VerificationError: Error, CustomStringConvertible, Equatable {
    case tooFewPairs(pairs: Int, folds: Int)
    case rowOutOfRange(pairIndex: Int, row: Int, rows: Int)
    case badShape(values: Int, dim: Int)

    public var description: String {
        switch self {
        case .tooFewPairs(let pairs, let folds): return "\(pairs) pairs cannot be split into \(folds) folds"
        case .rowOutOfRange(let p, let row, let rows):
            return "pair \(p) names embedding row \(row), but there are only \(rows) rows"
        case .badShape(let values, let dim): return "\(values) values are not a whole number of \(dim)-d embeddings"
        }
    }
}

public enum Verification {
    /// FAR targets reported when the pairs allow them.
    public static let farTargets: [Double] = [1e-1, 1e-2, 1e-3, 1e-4]

    /// Runs the protocol on raw embeddings (rows of `dim` floats, normalised here).
    /// - Complexity: O(rows × dim + pairs × log pairs × folds + thresholds × folds × log pairs).
    public static func evaluate(
        embeddings: [Float], dim: Int, pairs: [VerificationPair], folds: Int = 10
    ) throws -> VerificationResult {
        let distances = try squaredDistances(embeddings: embeddings, dim: dim, pairs: pairs)
        return try evaluate(distances: distances, same: pairs.map(\.same), folds: folds)
    }

    /// Convenience for callers holding plain tuples `(row, row, same)`.
    public static func evaluate(
        embeddings: [Float], dim: Int, pairs: [(Int, Int, Bool)], folds: Int = 10
    ) throws -> VerificationResult {
        try evaluate(
            embeddings: embeddings, dim: dim, pairs: pairs.map { VerificationPair($0.0, $0.1, same: $0.2) },
            folds: folds)
    }

    /// arcface_torch's flip augmentation: the raw embedding of each image plus the raw
    /// embedding of its mirror (normalisation follows in `evaluate`).
    public static func flipAugmented(_ embeddings: [Float], mirrored: [Float]) -> [Float] {
        precondition(embeddings.count == mirrored.count, "flip embeddings must match the plain ones in shape")
        return zip(embeddings, mirrored).map { $0 + $1 }
    }

    /// Squared euclidean distances (0…4) between the L2-normalised rows of each pair, in Double.
    public static func squaredDistances(embeddings: [Float], dim: Int, pairs: [VerificationPair]) throws -> [Double] {
        guard dim > 0, embeddings.count % dim == 0 else {
            throw VerificationError.badShape(values: embeddings.count, dim: dim)
        }
        let rows = embeddings.count / dim
        var inverseNorm = [Double](repeating: 0, count: rows)
        embeddings.withUnsafeBufferPointer { e in
            for r in 0..<rows {
                var s = 0.0
                for k in 0..<dim {
                    let v = Double(e[r * dim + k])
                    s += v * v
                }
                inverseNorm[r] = 1 / max(s.squareRoot(), 1e-12)
            }
        }
        var out = [Double](repeating: 0, count: pairs.count)
        try embeddings.withUnsafeBufferPointer { e in
            for (p, pair) in pairs.enumerated() {
                for row in [pair.first, pair.second] where row < 0 || row >= rows {
                    throw VerificationError.rowOutOfRange(pairIndex: p, row: row, rows: rows)
                }
                let a = pair.first * dim
                let b = pair.second * dim
                let na = inverseNorm[pair.first]
                let nb = inverseNorm[pair.second]
                var s = 0.0
                for k in 0..<dim {
                    let d = Double(e[a + k]) * na - Double(e[b + k]) * nb
                    s += d * d
                }
                out[p] = s
            }
        }
        return out
    }

    /// Runs the protocol on precomputed squared distances (smaller = more alike).
    public static func evaluate(distances: [Double], same: [Bool], folds: Int = 10) throws -> VerificationResult {
        let n = distances.count
        guard folds >= 2, n >= folds else { throw VerificationError.tooFewPairs(pairs: n, folds: folds) }
        let coarse = (0..<400).map { Double($0) * 0.01 }
        let fine = (0..<4000).map { Double($0) * 0.001 }
        let splits = kFold(count: n, folds: folds)
        var tprSum = [Double](repeating: 0, count: coarse.count)
        var fprSum = [Double](repeating: 0, count: coarse.count)
        var accuracy: [Double] = []
        var best: [Double] = []
        for test in splits {
            let train = SortedScores(distances: distances, same: same, excluding: test)
            let held = SortedScores(distances: distances, same: same, range: test)
            var bestIndex = 0
            var bestCorrect = -1
            for (t, threshold) in coarse.enumerated() {
                let correct = train.correct(below: threshold)
                if correct > bestCorrect {
                    bestCorrect = correct
                    bestIndex = t
                }
                let (tpr, fpr) = held.rates(below: threshold)
                tprSum[t] += tpr
                fprSum[t] += fpr
            }
            best.append(coarse[bestIndex])
            accuracy.append(Double(held.correct(below: coarse[bestIndex])) / Double(held.count))
        }
        let roc = coarse.indices.map {
            ROCPoint(
                threshold: coarse[$0], falseAcceptRate: fprSum[$0] / Double(folds),
                trueAcceptRate: tprSum[$0] / Double(folds))
        }
        let impostors = same.filter { !$0 }.count
        var tars: [TARAtFAR] = []
        for target in farTargets where Double(impostors) * target >= 1 {
            var tar: [Double] = []
            var far: [Double] = []
            for test in splits {
                let train = SortedScores(distances: distances, same: same, excluding: test)
                let held = SortedScores(distances: distances, same: same, range: test)
                let farTrain = fine.map { train.rates(below: $0).1 }
                let threshold = thresholdAtFAR(farTrain, thresholds: fine, target: target)
                let (v, f) = held.rates(below: threshold)
                tar.append(v)
                far.append(f)
            }
            tars.append(TARAtFAR(farTarget: target, tarMean: mean(tar), tarStd: std(tar), farMean: mean(far)))
        }
        return VerificationResult(
            pairCount: n, foldAccuracy: accuracy, accuracyMean: mean(accuracy), accuracyStd: std(accuracy),
            foldThreshold: best, threshold: mean(best), roc: roc, tarAtFar: tars)
    }

    /// scikit-learn's KFold(shuffle=False): contiguous test ranges, the first `count % folds`
    /// of them one longer.
    static func kFold(count: Int, folds: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        for f in 0..<folds {
            let size = count / folds + (f < count % folds ? 1 : 0)
            out.append(start..<(start + size))
            start += size
        }
        return out
    }

    /// The threshold reaching `target` FAR on a non-decreasing FAR curve: linear between the last
    /// threshold with FAR ≤ target and the first with FAR > target (what scipy's
    /// interp1d(kind='slinear') in `calculate_val` computed on such curves), or 0 when no
    /// threshold reaches the target.
    static func thresholdAtFAR(_ far: [Double], thresholds: [Double], target: Double) -> Double {
        guard let maxFar = far.max(), maxFar >= target else { return 0 }
        guard let hi = far.firstIndex(where: { $0 > target }) else {
            return thresholds[far.firstIndex(of: maxFar)!]
        }
        let lo = hi - 1
        return thresholds[lo] + (thresholds[hi] - thresholds[lo]) * (target - far[lo]) / (far[hi] - far[lo])
    }

    static func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }

    static func std(_ x: [Double]) -> Double {
        let m = mean(x)
        return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count)).squareRoot()
    }
}

/// Genuine and impostor distances of a pair subset, sorted, so counts below a threshold are
/// binary searches.
private struct SortedScores {
    var genuine: [Double] = []
    var impostor: [Double] = []
    var count: Int { genuine.count + impostor.count }

    init(distances: [Double], same: [Bool], range: Range<Int>) {
        for i in range { add(distances[i], same[i]) }
        genuine.sort()
        impostor.sort()
    }

    init(distances: [Double], same: [Bool], excluding test: Range<Int>) {
        for i in distances.indices where !test.contains(i) { add(distances[i], same[i]) }
        genuine.sort()
        impostor.sort()
    }

    private mutating func add(_ d: Double, _ s: Bool) {
        if s { genuine.append(d) } else { impostor.append(d) }
    }

    /// Number of values strictly below `t`. - Complexity: O(log n).
    private static func countBelow(_ sorted: [Double], _ t: Double) -> Int {
        var lo = 0
        var hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// True accepts plus true rejects when `d < t` predicts "same".
    func correct(below t: Double) -> Int {
        Self.countBelow(genuine, t) + impostor.count - Self.countBelow(impostor, t)
    }

    /// (TPR, FPR) — also `calculate_val_far`'s (VAL, FAR) — each 0 when its class is empty.
    func rates(below t: Double) -> (Double, Double) {
        let tp = Self.countBelow(genuine, t)
        let fp = Self.countBelow(impostor, t)
        return (
            genuine.isEmpty ? 0 : Double(tp) / Double(genuine.count),
            impostor.isEmpty ? 0 : Double(fp) / Double(impostor.count)
        )
    }
}
