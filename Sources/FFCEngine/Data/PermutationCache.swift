// Data/PermutationCache: the per-epoch shuffles both loaders' workers share.
import Synchronization

/// Per-epoch seeded permutations, computed once and shared by the workers (the last two kept).
final class PermutationCache: Sendable {
    let count: Int
    let seed: UInt64
    let stream: UInt64
    private let cache = Mutex<[Int: [UInt32]]>([:])

    init(count: Int, seed: UInt64, stream: UInt64) {
        self.count = count
        self.seed = seed
        self.stream = stream
    }

    /// - Complexity: O(count) the first time per epoch, then O(1).
    func permutation(epoch: Int) -> [UInt32] {
        cache.withLock { cache in
            if let order = cache[epoch] { return order }
            let order = SeededRandom.permutation(count: count, seed: seed, stream, UInt64(epoch))
            cache[epoch] = order
            for old in cache.keys where old < epoch - 1 { cache[old] = nil }
            return order
        }
    }
}
