// Head: exp over a buffer of logits in branch-free loops the compiler vectorises — the
// softmax of a B'×Q logits matrix is the head's one cost besides its two GEMMs.
import Foundation

enum VectorExp {
    /// Replaces x[0..<n] by exp(x) and returns their sum. Range reduction x = k·ln 2 + r,
    /// |r| ≤ ln 2 / 2, with k rounded by adding 1.5·2²³ (k then sits in the low mantissa bits,
    /// so 2^k is built with integer ops only), then Cephes' degree-6 polynomial for e^r
    /// (relative error ≈ 2e-7, like expf). Inputs are clamped to [−87.3, 88.7], so results
    /// never go subnormal or infinite.
    /// - Complexity: O(n).
    static func expInPlaceSum(_ x: UnsafeMutablePointer<Float>, count n: Int) -> Double {
        let roundingShift: Float = 12_582_912
        let shiftBits = roundingShift.bitPattern
        for j in 0..<n {
            let v = min(max(x[j], -87.3), 88.7)
            let shifted = v * 1.442_695_04 + roundingShift
            let k = shifted - roundingShift
            let r = (v - k * 0.693_359_375) - k * -2.121_944_40e-4
            var p: Float = 1.987_569_15e-4
            p = p * r + 1.398_199_95e-3
            p = p * r + 8.333_451_91e-3
            p = p * r + 4.166_579_59e-2
            p = p * r + 1.666_666_55e-1
            p = p * r + 5.000_000_12e-1
            p = p * r * r + r + 1
            let twoToK = Float(bitPattern: (shifted.bitPattern &- shiftBits &+ 127) &<< 23)
            x[j] = p * twoToK
        }
        // Eight running sums so the additions pipeline; each block of 8 goes into Double.
        var lanes = SIMD8<Float>()
        var total: Double = 0
        var j = 0
        while j + 8 <= n {
            lanes += UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
            j += 8
            if j & 1023 == 0 {
                total += Double(lanes.sum())
                lanes = SIMD8<Float>()
            }
        }
        total += Double(lanes.sum())
        while j < n {
            total += Double(x[j])
            j += 1
        }
        return total
    }
}
