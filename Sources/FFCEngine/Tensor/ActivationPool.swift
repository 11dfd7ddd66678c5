// ActivationPool: the memory behind layer outputs and input gradients. A pooled tensor takes
// a block here and gives it back when its last reference goes (ARC is the liveness
// analysis: an activation lives exactly while a later layer keeps it for its backward or
// the caller still holds it), so one block serves many layers of a step and both passes,
// and steady-state training allocates nothing: after the first step every request finds a
// free block of its size class.
//
// Size classes keep three significant bits (≤ 12.5% slack), so activations of similar
// sizes share blocks; a request takes the smallest free class that fits and at most twice
// its own, so a small tensor never pins a large block a later request needs.
import Foundation
import Synchronization

public final class ActivationPool: Sendable {
    /// The process's pool (one lock; pooled tensors are made and dropped on any thread).
    public static let shared = ActivationPool()

    /// The pool `Tensor(pooled:)` draws from: `shared` unless a caller (a test counting one
    /// net's blocks) binds its own with `ActivationPool.$current.withValue(pool) { … }`.
    @TaskLocal public static var current = ActivationPool.shared

    /// What the pool holds, in bytes and blocks.
    public struct Counters: Sendable, Equatable {
        /// Blocks handed out and not yet returned.
        public var liveBytes = 0
        /// Highest `liveBytes` since the last `resetPeak`.
        public var peakLiveBytes = 0
        /// Every block the pool owns, live or free: what it adds to resident memory.
        public var heldBytes = 0
        /// Blocks ever allocated (a steady state stops counting).
        public var allocations = 0
    }

    private struct State: ~Copyable {
        /// Free blocks' addresses (bit patterns: the state must be Sendable), by class capacity in floats.
        var free: [Int: [UInt]] = [:]
        var counters = Counters()
    }

    private let state = Mutex(State())

    public init() {}

    public var counters: Counters { state.withLock { $0.counters } }

    public func resetPeak() { state.withLock { $0.counters.peakLiveBytes = $0.counters.liveBytes } }

    /// The class capacity (floats) a request of `floats` is served from.
    static func sizeClass(_ floats: Int) -> Int {
        let n = max(floats, 16)
        let shift = max(0, (Int.bitWidth - 1 - n.leadingZeroBitCount) - 2)  // keep 3 bits
        let unit = 1 << shift
        return (n + unit - 1) / unit * unit
    }

    /// A block of at least `floats` floats (contents undefined) and its capacity.
    func acquire(_ floats: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let wanted = Self.sizeClass(floats)
        let reused: (address: UInt, capacity: Int)? = state.withLock { s in
            let fitting = s.free.lazy.filter { $0.key >= wanted && $0.key <= 2 * wanted && !$0.value.isEmpty }
            guard let best = fitting.map(\.key).min() else { return nil }
            let address = s.free[best]!.removeLast()
            s.counters.liveBytes += best * 4
            s.counters.peakLiveBytes = max(s.counters.peakLiveBytes, s.counters.liveBytes)
            return (address, best)
        }
        if let reused, let p = UnsafeMutablePointer<Float>(bitPattern: reused.address) { return (p, reused.capacity) }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: wanted)
        state.withLock { s in
            s.counters.allocations += 1
            s.counters.heldBytes += wanted * 4
            s.counters.liveBytes += wanted * 4
            s.counters.peakLiveBytes = max(s.counters.peakLiveBytes, s.counters.liveBytes)
        }
        return (p, wanted)
    }

    /// Takes back a block from `acquire`.
    func release(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        state.withLock { s in
            s.free[capacity, default: []].append(UInt(bitPattern: pointer))
            s.counters.liveBytes -= capacity * 4
        }
    }

    /// Frees every block no tensor holds (memory goes back to the system).
    public func trim() {
        state.withLock { s in
            for (capacity, blocks) in s.free {
                for address in blocks { UnsafeMutablePointer<Float>(bitPattern: address)?.deallocate() }
                s.counters.heldBytes -= capacity * 4 * blocks.count
            }
            s.free = [:]
        }
    }
}
