// Data/InstanceLoader: FFC's instance loader — every image once per epoch in a seeded
// shuffle, batches of B, the last partial batch dropped. Its epochs are the training epochs.
// With R ranks a global batch has R·B images and each rank loads its rows of it
// (`LoaderShard.splitRow`): disjoint, and together the whole batch.
import Foundation

public final class InstanceLoader: Sendable {
    public let database: FaceDatabase
    public let configuration: LoaderConfiguration
    public let batchesPerEpoch: Int
    private let assembler: BatchAssembler
    private let ring: PrefetchRing<ImageBatch>
    private let permutations: PermutationCache

    /// Starts W workers at `state.nextBatch` (0 for a new run).
    public init(database: FaceDatabase, configuration: LoaderConfiguration, state: LoaderState? = nil) throws {
        let b = configuration.batchSize
        guard b > 0 else { throw LoaderError.invalidBatchSize(b) }
        let globalBatch = configuration.shard.ranks * b
        guard database.imageCount >= globalBatch else {
            throw LoaderError.batchLargerThanDatabase(batchSize: globalBatch, images: database.imageCount)
        }
        var configuration = configuration
        if let state { configuration.seed = state.seed }
        self.database = database
        self.configuration = configuration
        let batchesPerEpoch = database.imageCount / globalBatch
        let shard = configuration.shard
        let rows = (0..<b).map { shard.splitRow($0, batchSize: b) }
        self.batchesPerEpoch = batchesPerEpoch
        let assembler = BatchAssembler(database: database, configuration: configuration)
        self.assembler = assembler
        let permutations = PermutationCache(count: database.imageCount, seed: configuration.seed, stream: 1)
        self.permutations = permutations
        let imageCount = database.imageCount
        let seed = configuration.seed
        ring = PrefetchRing(
            name: "instance", capacity: configuration.ringCapacity, workers: configuration.workers,
            firstBatch: state?.nextBatch ?? 0
        ) { index, scratch in
            let epoch = index / batchesPerEpoch
            let order = permutations.permutation(epoch: epoch)
            let first = (index % batchesPerEpoch) * globalBatch
            let images = rows.map { Int(order[first + $0]) }
            return try assembler.assemble(index: index, images: images, rows: rows, stream: 2, scratch: &scratch) {
                slot, attempt in
                var rng = SeededRandom(seed: seed, 4, UInt64(index), UInt64(rows[slot]), UInt64(attempt))
                return Int(rng.next() % UInt64(imageCount))
            }
        }
    }

    deinit { ring.stop() }

    /// The next batch; blocks while the ring is empty.
    public func next() throws -> ImageBatch { try ring.next() }

    /// Position to save in a checkpoint.
    public var state: LoaderState { LoaderState(seed: configuration.seed, nextBatch: ring.cursor) }

    /// Epoch of the next batch (0-based).
    public var epoch: Int { ring.cursor / batchesPerEpoch }

    /// Figures for the console, over the time since the previous call.
    public func stats() -> LoaderStats {
        var stats = LoaderStats()
        ring.measure(into: &stats)
        let cursor = ring.cursor
        stats.epoch = cursor / batchesPerEpoch
        stats.epochProgress = Double(cursor % batchesPerEpoch) / Double(batchesPerEpoch)
        stats.skippedRecords = assembler.skippedRecords
        return stats
    }

    /// Stops and joins the workers. Further `next` calls throw.
    public func stop() { ring.stop() }
}
