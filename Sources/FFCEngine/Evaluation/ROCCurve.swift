// Evaluation: the ROC curve of a list of scores (larger = more alike) as scikit-learn's
// `roc_curve` builds it — one point per distinct score, collinear points dropped
// (`drop_intermediate=True`), a (0, 0) point with threshold +∞ first — and the TAR at a target FAR
// read off it the way insightface's IJB scripts do: the point whose FPR is nearest the target,
// the largest TPR among equally near points.
import Foundation

public struct ROCCurve: Sendable, Equatable {
    /// Non-decreasing false positive rates, from 0 to 1.
    public var fpr: [Double]
    /// Non-decreasing true positive rates, from 0 to 1.
    public var tpr: [Double]
    /// Score thresholds: point k accepts scores ≥ threshold[k]; threshold[0] is +∞.
    public var threshold: [Double]

    /// - Complexity: O(n log n) for n scores.
    /// - Precondition: at least one genuine and one impostor score (the rates divide by both).
    public init(scores: [Double], genuine: [Bool]) {
        precondition(scores.count == genuine.count, "one label per score")
        // Descending by score; equal scores keep their input order (sklearn's stable argsort).
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var tps: [Double] = []
        var fps: [Double] = []
        var thr: [Double] = []
        var tp = 0.0
        for (k, i) in order.enumerated() {
            if genuine[i] { tp += 1 }
            // The last index of each run of equal scores is a threshold.
            if k == order.count - 1 || scores[order[k + 1]] != scores[i] {
                tps.append(tp)
                fps.append(Double(k + 1) - tp)
                thr.append(scores[i])
            }
        }
        if tps.count > 2 {
            var keep: [Int] = [0]
            for k in 1..<(tps.count - 1) {
                let corner =
                    fps[k + 1] - 2 * fps[k] + fps[k - 1] != 0 || tps[k + 1] - 2 * tps[k] + tps[k - 1] != 0
                if corner { keep.append(k) }
            }
            keep.append(tps.count - 1)
            tps = keep.map { tps[$0] }
            fps = keep.map { fps[$0] }
            thr = keep.map { thr[$0] }
        }
        let positives = tps.last ?? 0
        let negatives = fps.last ?? 0
        precondition(positives > 0 && negatives > 0, "an ROC curve needs genuine and impostor scores")
        tpr = [0] + tps.map { $0 / positives }
        fpr = [0] + fps.map { $0 / negatives }
        threshold = [.infinity] + thr
    }

    /// The index of the point whose FPR is nearest `far`; on ties the later point (larger TPR).
    public func index(nearestFAR far: Double) -> Int {
        var best = fpr.count - 1
        var bestGap = abs(fpr[best] - far)
        for k in stride(from: fpr.count - 2, through: 0, by: -1) where abs(fpr[k] - far) < bestGap {
            best = k
            bestGap = abs(fpr[k] - far)
        }
        return best
    }

    /// TPR at the point nearest `far` (insightface's TAR@FAR table).
    public func tar(atFAR far: Double) -> Double { tpr[index(nearestFAR: far)] }

    /// Area under the curve by the trapezoidal rule (sklearn's `auc`).
    public var auc: Double {
        var area = 0.0
        for k in 1..<fpr.count { area += (fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2 }
        return area
    }

    /// `fpr,tpr,threshold` lines with a header (the ROC file of `ffc eval ijb --roc`).
    public var csv: String {
        "fpr,tpr,threshold\n" + fpr.indices.map { "\(fpr[$0]),\(tpr[$0]),\(threshold[$0])" }.joined(separator: "\n")
            + "\n"
    }
}
