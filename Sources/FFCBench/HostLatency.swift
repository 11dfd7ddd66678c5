// HostLatency: how fast this machine is right now, measured beside the LRU benchmark.
//
// On a shared VM the same LRU binary runs up to twice as fast in one run as in the next, a few
// seconds later, as the neighbours on the host take cache and cycles. Two short probes, run
// before and after the table, say what kind of machine the table met: a chain of dependent
// loads at random places in a 2 MB buffer (the size of the cache's working set at capacity
// 100k, so it reads L2 when the core has it to itself and L3 when it does not), and a chain
// of dependent xor-shift-multiplies (the core's clock and its share of it).

import FFCEngine
import Foundation

struct HostLatency {
    /// Nanoseconds per load of the 2 MB random chase.
    var chaseNanoseconds: Double
    /// Nanoseconds per step of the xor-shift-multiply chain.
    var multiplyNanoseconds: Double

    static let chaseBytes = 2 << 20

    /// Runs both probes (about 0.1 s), best of three each.
    static func measure() -> HostLatency {
        HostLatency(
            chaseNanoseconds: (0..<3).map { _ in chase() }.min()!,
            multiplyNanoseconds: (0..<3).map { _ in multiplyChain() }.min()!)
    }

    /// A single random cycle through the buffer (Sattolo's shuffle), followed for 2M loads.
    private static func chase() -> Double {
        let count = chaseBytes / MemoryLayout<UInt32>.stride
        var next = [UInt32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = UInt32(index) }
            initialized = count
        }
        var rng = SeededRandom(seed: 0xC4A5E)
        for index in stride(from: count - 1, to: 0, by: -1) {
            next.swapAt(index, Int.random(in: 0..<index, using: &rng))
        }
        let loads = 2_000_000
        return next.withUnsafeBufferPointer { next in
            var position: UInt32 = 0
            for _ in 0..<count { position = next[Int(position)] }  // warm
            let start = CPUTime.thread()
            for _ in 0..<loads { position = next[Int(position)] }
            let seconds = CPUTime.thread() - start
            probeSink &+= UInt64(position)
            return seconds * 1e9 / Double(loads)
        }
    }

    /// 20M steps of x = (x xor x >> 31) · a, each waiting for the one before (an affine chain
    /// would be folded by the optimiser).
    private static func multiplyChain() -> Double {
        let steps = 20_000_000
        var x: UInt64 = 1
        let start = CPUTime.thread()
        for _ in 0..<steps { x = (x ^ (x &>> 31)) &* 0xBF58_476D_1CE4_E5B9 }
        let seconds = CPUTime.thread() - start
        probeSink &+= x
        return seconds * 1e9 / Double(steps)
    }

    var summary: String {
        String(
            format: "2 MB random chase %.1f ns/load, multiply chain %.2f ns/step", chaseNanoseconds, multiplyNanoseconds
        )
    }
}

/// Where the probes leave their results, so the optimiser cannot drop the loops computing them.
nonisolated(unsafe) private var probeSink: UInt64 = 0
