// Data/IdentityLoader: FFC's identity loader — identities without replacement in a seeded
// per-epoch shuffle, two distinct images of each (the same one twice when an identity has
// one), B pairs per batch (rank r of R: pairs [r·B, (r+1)·B) of each global batch of R·B). It runs through identities continuously, wrapping into its next
// epoch independently of the instance loader.
import Foundation

public final class IdentityLoader: Sendable {
    public let database: FaceDatabase
    public let configuration: LoaderConfiguration
    /// Identities with at least one image: the length of this loader's epoch.
    public let identitiesPerEpoch: Int
    private let assembler: BatchAssembler
    private let ring: PrefetchRing<IdentityPairBatch>

    public init(database: FaceDatabase, configuration: LoaderConfiguration, state: LoaderState? = nil) throws {
        let b = configuration.batchSize
        guard b > 0 else { throw LoaderError.invalidBatchSize(b) }
        var configuration = configuration
        if let state { configuration.seed = state.seed }
        self.database = database
        self.configuration = configuration
        let identities = database.presentIdentities
        identitiesPerEpoch = identities.count
        let assembler = BatchAssembler(database: database, configuration: configuration)
        self.assembler = assembler
        let permutations = PermutationCache(count: identities.count, seed: configuration.seed, stream: 5)
        let seed = configuration.seed
        let m = identities.count
        let shard = configuration.shard
        let rows = (0..<b).map { shard.row($0, batchSize: b) }
        let globalBatch = shard.ranks * b
        ring = PrefetchRing(
            name: "identity", capacity: configuration.ringCapacity, workers: configuration.workers,
            firstBatch: state?.nextBatch ?? 0
        ) { index, scratch in
            var firsts: [Int] = []
            var seconds: [Int] = []
            for k in 0..<b {
                let position = index * globalBatch + rows[k]
                let order = permutations.permutation(epoch: position / m)
                let identity = Int(identities[Int(order[position % m])])
                let (a, c) = IdentityLoader.pair(database.images(ofIdentity: identity), seed: seed, position: position)
                firsts.append(a)
                seconds.append(c)
            }
            // A bad record is replaced by another image of the same identity when it has one.
            func substitute(_ chosen: [Int], _ stream: UInt64) -> (Int, Int) -> Int {
                { slot, attempt in
                    let same = database.images(ofIdentity: database.label(ofImage: chosen[slot]))
                    var rng = SeededRandom(seed: seed, stream, UInt64(index), UInt64(rows[slot]), UInt64(attempt))
                    return Int(same[same.startIndex + Int(rng.next() % UInt64(same.count))])
                }
            }
            let first = try assembler.assemble(
                index: index, images: firsts, rows: rows, stream: 6, scratch: &scratch,
                substitute: substitute(firsts, 8))
            let second = try assembler.assemble(
                index: index, images: seconds, rows: rows, stream: 7, scratch: &scratch,
                substitute: substitute(seconds, 9))
            return IdentityPairBatch(firsts: first, seconds: second)
        }
    }

    /// Two distinct images of one identity (the same twice for a singleton), chosen by
    /// (seed, stream position).
    static func pair(_ images: ArraySlice<UInt32>, seed: UInt64, position: Int) -> (Int, Int) {
        let n = images.count
        let base = images.startIndex
        if n == 1 { return (Int(images[base]), Int(images[base])) }
        var rng = SeededRandom(seed: seed, 3, UInt64(position))
        let a = Int(rng.next() % UInt64(n))
        let c = (a + 1 + Int(rng.next() % UInt64(n - 1))) % n
        return (Int(images[base + a]), Int(images[base + c]))
    }

    deinit { ring.stop() }

    /// The next B pairs; blocks while the ring is empty.
    public func next() throws -> IdentityPairBatch { try ring.next() }

    public var state: LoaderState { LoaderState(seed: configuration.seed, nextBatch: ring.cursor) }

    /// This loader's own epoch (passes over all identities) of the next batch.
    public var epoch: Int { ring.cursor * globalBatchSize / identitiesPerEpoch }

    /// Pairs per step over all ranks.
    public var globalBatchSize: Int { configuration.shard.ranks * configuration.batchSize }

    public func stats() -> LoaderStats {
        var stats = LoaderStats()
        ring.measure(into: &stats)
        let position = ring.cursor * globalBatchSize
        stats.epoch = position / identitiesPerEpoch
        stats.epochProgress = Double(position % identitiesPerEpoch) / Double(identitiesPerEpoch)
        stats.skippedRecords = assembler.skippedRecords
        return stats
    }

    public func stop() { ring.stop() }
}
