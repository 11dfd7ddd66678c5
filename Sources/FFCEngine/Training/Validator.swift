// Training: verification during training — the probe net (eval mode, running batch-norm
// statistics) embeds the images a pairs file names from a held-out database (`ffc synth
// --holdout M --pairs P` writes both), and the 10-fold protocol scores them.
import Foundation

final class Validator {
    let database: FaceDatabase
    /// Image index in `database` of each embedded row.
    let images: [Int]
    let pairs: [VerificationPair]
    private let batchRows = 64

    /// Reads the pairs (keys of `databasePath`) and finds every key's image.
    init(databasePath: String, pairsPath: String) throws {
        database = try FaceDatabase.open(paths: [databasePath])
        let list = try PairList.read(path: pairsPath, format: .keys)
        var imageOfKey: [String: Int] = [:]
        for i in 0..<database.imageCount { imageOfKey[database.key(ofImage: i)] = i }
        var keys: [String] = []
        var seen = Set<String>()
        for e in list.entries {
            for k in [e.first, e.second] where seen.insert(k).inserted { keys.append(k) }
        }
        images = try keys.map { k in
            guard let i = imageOfKey[k] else {
                throw PairListError.unknownKey(
                    path: pairsPath, line: list.entries.first { $0.first == k || $0.second == k }?.line ?? 0, key: k)
            }
            return i
        }
        pairs = try list.keyPairs(keys: keys)
    }

    /// Mean 10-fold verification accuracy of `net`'s embeddings.
    func accuracy(of net: Backbone) throws -> Double {
        let side = net.inputSize
        let image = FaceImage(height: side, width: side)
        let txn = try database.beginRead()
        var embeddings: [Float] = []
        embeddings.reserveCapacity(images.count * net.embeddingSize)
        var scratch: [UInt8] = []
        for start in stride(from: 0, to: images.count, by: batchRows) {
            let rows = Array(images[start..<min(start + batchRows, images.count)])
            // (R, S, S, 3) normalised BGR.
            var pixels = [Float](repeating: 0, count: rows.count * image.floatsPerImage)
            try pixels.withUnsafeMutableBufferPointer { out in
                for (r, i) in rows.enumerated() {
                    guard let encoded = try txn.image(ofImage: i) else {
                        throw FaceImageError(reason: "validation image \(database.key(ofImage: i)) is missing")
                    }
                    let slice = UnsafeMutableBufferPointer(
                        rebasing: out[(r * image.floatsPerImage)..<((r + 1) * image.floatsPerImage)])
                    try image.load(image: encoded, flip: false, into: slice, scratch: &scratch)
                }
            }
            let output = net.forward(
                input: Tensor(shape: [rows.count, side, side, 3], values: pixels), training: false)
            embeddings += output.values
        }
        return try Verification.evaluate(embeddings: embeddings, dim: net.embeddingSize, pairs: pairs).accuracyMean
    }
}
