// Training: validation on insightface `.bin` verification sets (lfw.bin, cfp_fp.bin, agedb_30.bin)
// every N steps, as arcface_torch's CallBackVerification does: the probe net (eval mode) embeds
// each set's images and their mirrors, the 10-fold protocol of `ffc eval verify --bin` scores
// the plain features and the flip-summed ones, and the best flip accuracy of each set is kept.
import Foundation

final class BinValidator {
    struct ValidationSet {
        /// File name without `.bin` (the name metrics and the console show).
        var name: String
        var bin: InsightfaceBin
        var bestAccuracyFlip = -Double.infinity
        var bestStep = 0
    }

    private(set) var sets: [ValidationSet]
    private let batchRows = 64

    init(paths: [String]) throws {
        sets = try paths.map { path in
            let bin = try InsightfaceBin.read(path: path)
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            return ValidationSet(name: name, bin: bin)
        }
    }

    /// Scores every set with `net` and updates its best-so-far; one record per set, in order.
    func validate(net: Backbone, step: Int) throws -> [ValidationRecord] {
        let embedder = Embedder(backbone: net, batchSize: batchRows)
        var out: [ValidationRecord] = []
        for k in sets.indices {
            let set = sets[k]
            let e = try embedder.embed(encoded: set.bin.images, flip: true, source: set.name + ".bin")
            let plain = try Verification.evaluate(embeddings: e.plain, dim: e.dim, pairs: set.bin.pairs)
            let flipped = try Verification.evaluate(embeddings: e.forScoring, dim: e.dim, pairs: set.bin.pairs)
            if flipped.accuracyMean > set.bestAccuracyFlip {
                sets[k].bestAccuracyFlip = flipped.accuracyMean
                sets[k].bestStep = step
            }
            out.append(
                ValidationRecord(
                    step: step, set: set.name, pairs: set.bin.pairs.count, accuracy: plain.accuracyMean,
                    accuracyFlip: flipped.accuracyMean, bestAccuracyFlip: sets[k].bestAccuracyFlip,
                    bestStep: sets[k].bestStep))
        }
        return out
    }
}
