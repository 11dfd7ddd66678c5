// Head: margin softmax cross-entropy (AM, Arc, SV) and the outlier hard-negative term on one
// row of cosines, forward and analytic backward side by side. Shared by the FFC head and the
// full-FC / Partial-FC baselines.
import Foundation

/// The margin the original offers (`--loss-type`).
public enum MarginType: String, Sendable, Codable, CaseIterable {
    /// CosFace: target cos − m.
    case am = "AM"
    /// ArcFace: target cos(θ + m).
    case arc = "Arc"
    /// SV-softmax: target cos − m when cos > m; non-targets with cos > target − m become 1.2·cos + 0.2.
    case sv = "SV"
}

/// Scale, margin and type of the margin softmax (original defaults: s = 32, m = 0.4, AM).
public struct MarginLoss: Sendable, Equatable {
    public var type: MarginType
    public var scale: Float
    public var margin: Float
    /// SV-softmax's factor t for hard non-targets: t·cos + t − 1 (the original uses 1.2).
    public var svHardScale: Float = 1.2

    public init(type: MarginType = .am, scale: Float = 32, margin: Float = 0.4) {
        self.type = type
        self.scale = scale
        self.margin = margin
    }

    /// Outlier term's k: clamp(⌊0.0002·Q⌋, 3, 10), never more than the Q columns.
    public static func hardNegativeCount(poolSize q: Int) -> Int {
        min(q, min(max(Int(Double(q) * 0.0002), 3), 10))
    }

    /// The target's margin logit (before scale) and its derivative wrt the target cosine.
    /// Arc: d/dc cos(acos c + m) = cos m + c·sin m / sin θ; sin θ is floored at 1e-6 so a
    /// cosine of exactly ±1 gives a large finite slope instead of infinity.
    @inline(__always)
    func target(_ c: Float) -> (value: Float, slope: Float) {
        switch type {
        case .am: return (c - margin, 1)
        case .arc:
            let sinTheta = max(1 - c * c, 0).squareRoot()
            return (
                c * cos(margin) - sinTheta * sin(margin),
                cos(margin) + c * sin(margin) / max(sinTheta, 1e-6)
            )
        case .sv: return c > margin ? (c - margin, 1) : (c, 1)
        }
    }

    /// Cross-entropy of one in-pool row `cos` (n columns) with target column `t`, averaged
    /// with weight `rowWeight` (1 / in-pool rows). Writes dLoss/dcos·rowWeight into `grad`
    /// (overwriting) and returns the row's unweighted loss.
    /// - Complexity: O(n), one (vectorised) exp per column.
    func crossEntropyRow(
        cos: UnsafePointer<Float>, n: Int, t: Int, rowWeight: Float, grad: UnsafeMutablePointer<Float>
    ) -> Double {
        let s = scale
        let gt = cos[t]
        let (targetValue, targetSlope) = target(gt)
        var maxCos = -Float.infinity
        for j in 0..<n { maxCos = max(maxCos, cos[j]) }
        let sv = type == .sv
        let hardFloor = gt - margin
        let hardA = svHardScale
        let hardB = svHardScale - 1
        let maxLogit = max(sv ? max(maxCos, hardA * maxCos + hardB) : maxCos, targetValue)
        let shift = s * maxLogit
        if sv {
            for j in 0..<n {
                let c = cos[j]
                grad[j] = s * (c > hardFloor ? hardA * c + hardB : c) - shift
            }
        } else {
            for j in 0..<n { grad[j] = s * cos[j] - shift }
        }
        // The target's own logit leaves the float32 exp sum before it is taken: adding the
        // whole row and subtracting it after cancels when the target dominates (a trained net),
        // which cost 2e-5 of the gradient; exp(−87.3) ≈ 1e-38 is what it adds instead.
        grad[t] = -.greatestFiniteMagnitude
        var sum = VectorExp.expInPlaceSum(grad, count: n)
        let targetExp = exp(s * targetValue - shift)
        sum += Double(targetExp)
        let scaleOverSum = Float(Double(s * rowWeight) / sum)
        if sv {
            for j in 0..<n { grad[j] *= scaleOverSum * (cos[j] > hardFloor ? hardA : 1) }
        } else {
            for j in 0..<n { grad[j] *= scaleOverSum }
        }
        grad[t] = s * rowWeight * (Float(Double(targetExp) / sum) - 1) * targetSlope
        return log(sum) + Double(shift) - Double(s * targetValue)
    }

    /// Outlier row: sum of the top-k cosines clipped at 0, times `weight` (1 / (outlier rows·k)).
    /// Writes its gradient into `grad` (overwriting) and returns the weighted loss.
    /// - Complexity: O(n·k).
    static func hardNegativeRow(
        cos: UnsafePointer<Float>, n: Int, k: Int, weight: Float, grad: UnsafeMutablePointer<Float>
    ) -> Double {
        grad.update(repeating: 0, count: n)
        var topIndex = [Int](repeating: -1, count: k)
        var topValue = [Float](repeating: -.infinity, count: k)
        for j in 0..<n {
            let c = cos[j]
            if c <= topValue[k - 1] { continue }
            var i = k - 1
            while i > 0 && topValue[i - 1] < c {
                topValue[i] = topValue[i - 1]
                topIndex[i] = topIndex[i - 1]
                i -= 1
            }
            topValue[i] = c
            topIndex[i] = j
        }
        var loss: Double = 0
        for i in 0..<k where topIndex[i] >= 0 && topValue[i] >= 0 {
            loss += Double(topValue[i])
            grad[topIndex[i]] = weight
        }
        return loss * Double(weight)
    }
}
