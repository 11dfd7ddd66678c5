// Data/ImageBatch: what the loaders hand the trainer, their settings, their resumable state,
// and the batch assembly (read, decode, flip, normalise, skip bad records) both share.
import Foundation
import Synchronization

/// B images ready for the network.
public struct ImageBatch: Sendable {
    /// Number of the batch in its loader's stream (0, 1, 2, …).
    public var index: Int
    /// Normalised BGR pixels, (N, H, W, 3).
    public var pixels: [Float]
    /// Global identity label of each image, (N).
    public var labels: [Int]
    /// Database image index of each image, (N); `FaceDatabase.key(ofImage:)` gives its key.
    public var images: [Int]
    public var count: Int { labels.count }
}

/// B identity pairs: `firsts[k]` and `seconds[k]` show the same identity.
public struct IdentityPairBatch: Sendable {
    public var firsts: ImageBatch
    public var seconds: ImageBatch
}

/// Settings shared by both loaders.
public struct LoaderConfiguration: Sendable {
    public var batchSize: Int
    public var workers: Int
    /// Ready batches kept ahead of the trainer.
    public var ringCapacity: Int
    public var seed: UInt64
    public var image: FaceImage
    /// Mirror each image left–right with probability ½ (training augmentation).
    public var flip: Bool
    /// Undecodable records tolerated (each is replaced and counted) before the loader fails.
    public var maxSkippedRecords: Int
    /// Data parallelism: this process's share of each global batch of `ranks × batchSize`.
    public var shard = LoaderShard()

    public init(
        batchSize: Int, workers: Int = 2, ringCapacity: Int = 4, seed: UInt64 = 0,
        image: FaceImage = FaceImage(), flip: Bool = true, maxSkippedRecords: Int = 1000
    ) {
        self.batchSize = batchSize
        self.workers = workers
        self.ringCapacity = ringCapacity
        self.seed = seed
        self.image = image
        self.flip = flip
        self.maxSkippedRecords = maxSkippedRecords
    }
}

/// Which part of a global batch a rank loads: the global batch has `ranks × B` rows and its
/// row numbers (not the rank's) seed the flips and substitutions, so the global stream is the
/// same for any number of ranks.
public struct LoaderShard: Sendable, Equatable {
    public var rank: Int
    public var ranks: Int
    public init(rank: Int = 0, ranks: Int = 1) {
        precondition(ranks > 0 && (0..<ranks).contains(rank), "rank \(rank) of \(ranks)")
        self.rank = rank
        self.ranks = ranks
    }

    /// Global row of local row `j` of a plain batch of B: rank r holds rows [r·B, (r+1)·B).
    func row(_ j: Int, batchSize b: Int) -> Int { rank * b + j }

    /// Global row of local row `j` of an instance batch, whose halves the step splits: the
    /// first halves of all ranks (rows [0, R·⌊B/2⌋)) come before the second halves, so the
    /// ranks' halves gathered in rank order are the global batch's halves.
    func splitRow(_ j: Int, batchSize b: Int) -> Int {
        let half = b / 2
        return j < half ? rank * half + j : ranks * half + rank * (b - half) + (j - half)
    }
}

/// Where a loader is in its stream: restoring it continues with the same batches.
public struct LoaderState: Sendable, Equatable, Codable {
    public var seed: UInt64
    /// Number of the next batch the trainer will take.
    public var nextBatch: Int
    public init(seed: UInt64, nextBatch: Int) {
        self.seed = seed
        self.nextBatch = nextBatch
    }
}

/// A loader setting that cannot work with this database.
public enum LoaderError: Error, Equatable, CustomStringConvertible {
    case batchLargerThanDatabase(batchSize: Int, images: Int)
    case invalidBatchSize(Int)
    public var description: String {
        switch self {
        case .batchLargerThanDatabase(let b, let n):
            return "batch size \(b) is larger than the database's \(n) images (the last partial batch is dropped)"
        case .invalidBatchSize(let b):
            return "batch size must be positive, got \(b)"
        }
    }
}

/// Reads and decodes the images of one batch; shared by the loaders' workers.
final class BatchAssembler: Sendable {
    let database: FaceDatabase
    let configuration: LoaderConfiguration
    private let skipped = Atomic<Int>(0)

    init(database: FaceDatabase, configuration: LoaderConfiguration) {
        self.database = database
        self.configuration = configuration
    }

    var skippedRecords: Int { skipped.load(ordering: .relaxed) }

    /// Assembles batch `index` from `images`. A record that fails is replaced by
    /// `substitute(slot, attempt)` (deterministic), so the batch depends only on its inputs.
    /// `rows` are the slots' rows in the global batch (default 0, 1, …): they seed the flips.
    func assemble(
        index: Int, images: [Int], rows: [Int]? = nil, stream: UInt64, scratch: inout [UInt8],
        substitute: (_ slot: Int, _ attempt: Int) -> Int
    ) throws -> ImageBatch {
        let image = configuration.image
        let per = image.floatsPerImage
        // Every float is written below, so skip zero-filling the (N, H, W, 3) buffer.
        var pixels = [Float](unsafeUninitializedCapacity: images.count * per) { _, count in
            count = images.count * per
        }
        var chosen = images
        let txn = try database.beginRead()
        try pixels.withUnsafeMutableBufferPointer { out in
            for slot in 0..<images.count {
                let row = rows?[slot] ?? slot
                var rng = SeededRandom(seed: configuration.seed, stream, UInt64(index), UInt64(row))
                let flip = configuration.flip && rng.next() & 1 == 1
                let target = UnsafeMutableBufferPointer(rebasing: out[(slot * per)..<((slot + 1) * per)])
                var attempt = 0
                while true {
                    do {
                        guard let encoded = try txn.image(ofImage: chosen[slot]) else {
                            throw FaceImageError(reason: "key missing from its LMDB")
                        }
                        try image.load(image: encoded, flip: flip, into: target, scratch: &scratch)
                        break
                    } catch let error as LMDBError {
                        throw error
                    } catch {
                        let total = skipped.add(1, ordering: .relaxed).newValue
                        if total > configuration.maxSkippedRecords {
                            throw FaceDatabaseError.tooManySkippedRecords(
                                skipped: total, limit: configuration.maxSkippedRecords,
                                lastKey: database.key(ofImage: chosen[slot]), reason: "\(error)")
                        }
                        attempt += 1
                        chosen[slot] = substitute(slot, attempt)
                    }
                }
            }
        }
        return ImageBatch(index: index, pixels: pixels, labels: chosen.map(database.label(ofImage:)), images: chosen)
    }
}
