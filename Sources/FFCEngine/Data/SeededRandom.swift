// Data/SeededRandom: the deterministic generators behind shuffles, flips and synthetic
// identities. Streams are derived by hashing (seed, purpose, index), so a value depends only
// on its coordinates, never on which worker or in which order it was drawn.

/// SplitMix64 (Steele, Lea, Flood): the engine's one seeded generator — shuffles, noise, weight
/// initialisation, the pool's random unit vectors. Its whole state is one UInt64, so a
/// checkpoint restores a stream exactly (`init(seed: state)`).
public struct SeededRandom: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for the stream identified by `coordinates` under `seed`.
    public init(seed: UInt64, _ coordinates: UInt64...) {
        var h = SeededRandom.mix(seed ^ 0x9E37_79B9_7F4A_7C15)
        for c in coordinates { h = SeededRandom.mix(h ^ SeededRandom.mix(c &+ 0x632B_E59B_D9B4_E019)) }
        state = h
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededRandom.mix(state)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * unit() }

    /// Approximately standard normal (sum of four uniforms, rescaled).
    public mutating func gaussian() -> Float {
        (unit() + unit() + unit() + unit() - 2) * 1.7320508
    }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SeededRandom {
    /// A permutation of 0..<count (Fisher–Yates), as UInt32 to halve its memory.
    /// - Complexity: O(count).
    public static func permutation(count: Int, seed: UInt64, _ coordinates: UInt64...) -> [UInt32] {
        var rng = SeededRandom(seed: seed)
        for c in coordinates { rng = SeededRandom(seed: rng.next() ^ SeededRandom.mix(c)) }
        var order = (0..<count).map { UInt32($0) }
        var i = count - 1
        while i > 0 {
            let j = Int(rng.next() % UInt64(i + 1))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}
