// Head: exp over a buffer of logits, eight lanes at a time — the softmax of a B'×Q logits
// matrix is the head's one cost besides its two GEMMs.
import Foundation

enum VectorExp {
    /// Replaces x[0..<n] by exp(x) and returns their sum. Range reduction x = k·ln 2 + r,
    /// |r| ≤ ln 2 / 2, then a degree-6 polynomial for e^r (relative error ≈ 2e-7, like expf);
    /// inputs are clamped to [−87.3, 88.7], so results never go subnormal or infinite.
    /// - Complexity: O(n).
    static func expInPlaceSum(_ x: UnsafeMutablePointer<Float>, count n: Int) -> Double {
        typealias V = SIMD8<Float>
        let log2e = V(repeating: 1.442_695_04)
        let ln2hi = V(repeating: 0.693_359_375)
        let ln2lo = V(repeating: -2.121_944_40e-4)
        let lo = V(repeating: -87.3)
        let hi = V(repeating: 88.7)
        var total: Double = 0
        var j = 0
        while j + 8 <= n {
            var v = UnsafeRawPointer(x + j).loadUnaligned(as: V.self)
            v = v.clamped(lowerBound: lo, upperBound: hi)
            let k = (v * log2e).rounded(.toNearestOrEven)
            let r = v - k * ln2hi - k * ln2lo
            var p = V(repeating: 1.987_569_15e-4)
            p = p * r + 1.398_199_95e-3
            p = p * r + 8.333_451_91e-3
            p = p * r + 4.166_579_59e-2
            p = p * r + 1.666_666_55e-1
            p = p * r + 5.000_000_12e-1
            p = p * r * r + r + 1
            let bits = (SIMD8<Int32>(k, rounding: .towardZero) &+ 127) &<< 23
            let e = p * unsafeBitCast(bits, to: V.self)
            UnsafeMutableRawPointer(x + j).storeBytes(of: e, as: V.self)
            total += Double(e.sum())
            j += 8
        }
        while j < n {
            let e = exp(min(max(x[j], -87.3), 88.7))
            x[j] = e
            total += Double(e)
            j += 1
        }
        return total
    }
}
