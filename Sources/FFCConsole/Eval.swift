// `ffc eval verify` and `ffc eval identify`: the evaluation protocols on precomputed embeddings
// (`.npy`, float32, one row per image), so any model's features can be scored.
import ArgumentParser
import FFCEngine
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score embeddings with the standard face verification and identification protocols.",
        subcommands: [EvalVerify.self, EvalIdentify.self, EvalIJB.self]
    )
}

/// One error type for input problems the engine's errors do not name.
struct EvalInputError: Error, CustomStringConvertible {
    var description: String
}

/// Prints one JSON object on one line.
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// A float32 (n × d) matrix from a `.npy` file.
func readMatrix(_ path: String) throws -> (values: [Float], rows: Int, dim: Int) {
    let a = try NPYArray.read(path: path)
    guard a.shape.count == 2 else {
        throw EvalInputError(description: "\(path): expected an (n, d) matrix, found shape \(a.shape)")
    }
    return (try a.floats(path: path), a.shape[0], a.shape[1])
}

/// Integer labels from an int64 `.npy` vector or a text file with one integer per line.
func readLabels(_ path: String) throws -> [Int] {
    if path.hasSuffix(".npy") { return try NPYArray.read(path: path).ints(path: path).map(Int.init) }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw EvalInputError(description: "\(path): cannot read labels")
    }
    var out: [Int] = []
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let t = line.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { continue }
        guard let v = Int(t) else {
            throw EvalInputError(description: "\(path):\(i + 1): '\(t)' is not an integer label")
        }
        out.append(v)
    }
    return out
}

struct EvalVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "10-fold verification accuracy, best threshold, TAR@FAR and ROC of embedding pairs.",
        discussion: """
            The protocol of insightface's arcface_torch: L2-normalised embeddings, squared euclidean
            distance, KFold(10) without shuffling, the threshold (0…4 in steps of 0.01) best on nine
            folds applied to the tenth; TAR at FAR 1e-1…1e-4 as far as the impostor pairs allow.

            Pairs come from one of:
              --pairs FILE with rows `i j same` (rows of the embeddings matrix; without --keys),
              --pairs FILE with rows `keyA keyB same` plus --keys KEYS (row r of the matrix is the
                r-th line of KEYS, e.g. a database's kv file; `ffc synth` writes such pairs files
                with zero-padded numeric keys, which count as keys whenever --keys is given),
              --pairs pairs.txt in LFW form plus --keys KEYS holding each image's path relative to
                the LFW folder (name/name_0001.jpg),
              --bin SET.bin (insightface lfw.bin, cfp_fp.bin …): the embeddings' rows are the
                set's images in file order, pair k = rows 2k and 2k+1.
            """
    )

    @Option(help: "Embeddings: float32 .npy of shape (n, d), one row per image (or give --model).")
    var embeddings: String?

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "With --model: the image folder LFW-style pairs (or key pairs of relative paths) name.")
    var images: String?

    @Option(parsing: .upToNextOption, help: "With --model: FFC database(s) whose keys the pairs file names.")
    var db: [String] = []

    @Flag(help: "With --model: add the embedding of each mirrored image (arcface_torch's flip test).")
    var flip = false

    @Option(
        help:
            "Embeddings of the horizontally mirrored images (same rows); summed with --embeddings before normalising, as arcface_torch's flip test."
    )
    var flipEmbeddings: String?

    @Option(help: "Pairs file (index, keys or LFW form; see --pairs-format).")
    var pairs: String?

    @Option(help: "Pairs file form: auto, index, keys or lfw.")
    var pairsFormat: String = "auto"

    @Option(
        help:
            "Key list for keys/LFW pairs: one key (or image path) per embedding row, the first field of each line (a kv file works)."
    )
    var keys: String?

    @Option(
        name: .customLong("bin"),
        help: "An insightface verification .bin whose images the embedding rows are, in order.")
    var binFile: String?

    @Option(help: "Number of folds.")
    var folds: Int = 10

    @Option(help: "Write the mean ROC (threshold,fpr,tpr per line) to this CSV file.")
    var roc: String?

    @Option(help: "Draw the mean ROC (log-FAR axis) into this SVG or PNG file (by extension).")
    var plot: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        var m: (values: [Float], rows: Int, dim: Int)
        let pairList: [VerificationPair]
        if let embedder = try modelOptions.embedder() {
            (m, pairList) = try embedWithModel(embedder)
        } else {
            guard let embeddings else { throw ValidationError("give --embeddings X.npy or --model CKPT") }
            m = try readMatrix(embeddings)
            if let flip = flipEmbeddings {
                let f = try readMatrix(flip)
                guard f.rows == m.rows, f.dim == m.dim else {
                    throw EvalInputError(
                        description:
                            "\(flip): shape (\(f.rows), \(f.dim)) differs from \(embeddings)'s (\(m.rows), \(m.dim))")
                }
                m.values = Verification.flipAugmented(m.values, mirrored: f.values)
            }
            pairList = try resolvePairs(rows: m.rows, embeddings: embeddings)
        }
        try report(m, pairList)
    }

    /// Embeds exactly the images the pairs name and returns them with the pairs as rows.
    private func embedWithModel(_ embedder: Embedder) throws -> (
        (values: [Float], rows: Int, dim: Int), [VerificationPair]
    ) {
        let result: Embeddings
        let pairList: [VerificationPair]
        if let binFile {
            let set = try InsightfaceBin.read(path: binFile)
            result = try embedder.embed(encoded: set.images, flip: flip, source: binFile)
            pairList = set.pairs
        } else if let pairs, let images {
            let (files, p) = try PairList.read(path: pairs, format: try chosenFormat()).imagePairs(root: images)
            result = try embedder.embed(files: files, flip: flip)
            pairList = p
        } else if let pairs, !db.isEmpty {
            var list = try PairList.read(path: pairs, format: try chosenFormat())
            if list.format == .index { list.format = .keys }
            let database = try FaceDatabase.open(paths: db)
            let keyPairs = try list.keyPairs(keys: (0..<database.imageCount).map { database.key(ofImage: $0) })
            var rowOf: [Int: Int] = [:]
            var images: [Int] = []
            for p in keyPairs {
                for i in [p.first, p.second] where rowOf[i] == nil {
                    rowOf[i] = images.count
                    images.append(i)
                }
            }
            let txn = try database.beginRead()
            let face = FaceImage(height: embedder.backbone.inputSize, width: embedder.backbone.inputSize)
            var scratch: [UInt8] = []
            result = try embedder.embed(count: images.count, flip: flip) { k, mirror, out in
                let i = images[k]
                guard let encoded = try txn.image(ofImage: i) else {
                    throw EmbedderError.image(
                        index: i, source: database.key(ofImage: i), reason: "key missing from the LMDB")
                }
                try face.load(image: encoded, flip: mirror, into: out, scratch: &scratch)
            }
            pairList = keyPairs.map { VerificationPair(rowOf[$0.first]!, rowOf[$0.second]!, same: $0.same) }
        } else {
            throw ValidationError("with --model give --bin SET.bin, or --pairs with --images DIR or --db PATH")
        }
        return ((result.forScoring, result.count, result.dim), pairList)
    }

    private func chosenFormat() throws -> PairList.Format? {
        if pairsFormat == "auto" { return nil }
        guard let f = PairList.Format(rawValue: pairsFormat) else {
            throw EvalInputError(description: "--pairs-format \(pairsFormat): use auto, index, keys or lfw")
        }
        return f
    }

    private func report(_ m: (values: [Float], rows: Int, dim: Int), _ pairList: [VerificationPair]) throws {
        let r = try Verification.evaluate(embeddings: m.values, dim: m.dim, pairs: pairList, folds: folds)
        if let roc {
            let csv =
                "threshold,fpr,tpr\n"
                + r.roc.map { "\($0.threshold),\($0.falseAcceptRate),\($0.trueAcceptRate)" }.joined(separator: "\n")
                + "\n"
            try AtomicFile.write(Array(csv.utf8), to: roc)
        }
        if let plot {
            let name = ((modelOptions.model ?? embeddings ?? "model") as NSString).lastPathComponent
            let curve = (name, r.roc.map(\.falseAcceptRate), r.roc.map(\.trueAcceptRate))
            try Figure(charts: [Chart.roc(title: "Verification ROC (\(folds)-fold mean)", curves: [curve])]).write(
                to: plot)
        }
        if json {
            try printJSON([
                "pairs": r.pairCount, "folds": folds, "accuracy_mean": r.accuracyMean, "accuracy_std": r.accuracyStd,
                "threshold": r.threshold, "fold_accuracy": r.foldAccuracy, "fold_threshold": r.foldThreshold,
                "tar_at_far": r.tarAtFar.map {
                    ["far": $0.farTarget, "tar_mean": $0.tarMean, "tar_std": $0.tarStd, "far_mean": $0.farMean]
                },
            ])
            return
        }
        print("pairs        \(r.pairCount) (\(pairList.filter(\.same).count) genuine), \(folds) folds, \(m.dim)-d")
        print(String(format: "accuracy     %.4f ± %.4f", r.accuracyMean, r.accuracyStd))
        print(String(format: "threshold    %.4f (squared distance; cosine %.4f)", r.threshold, 1 - r.threshold / 2))
        for t in r.tarAtFar {
            print(
                String(
                    format: "TAR@FAR=%-6g %.4f ± %.4f (FAR reached %.2e)", t.farTarget, t.tarMean, t.tarStd, t.farMean))
        }
    }

    private func resolvePairs(rows: Int, embeddings: String) throws -> [VerificationPair] {
        if let binFile {
            let set = try InsightfaceBin.read(path: binFile)
            guard set.images.count == rows else {
                throw EvalInputError(
                    description: "\(binFile) holds \(set.images.count) images but \(embeddings) has \(rows) rows")
            }
            return set.pairs
        }
        guard let pairs else { throw EvalInputError(description: "give --pairs FILE or --bin SET.bin") }
        let format = try chosenFormat()
        var list = try PairList.read(path: pairs, format: format)
        // `ffc synth` keys are zero-padded numbers: with a key list, numbers are keys, not rows.
        if format == nil, keys != nil, list.format == .index { list.format = .keys }
        if list.format == .index { return try list.indexPairs() }
        guard let keys else {
            throw EvalInputError(
                description:
                    "\(pairs) names images by key (\(list.format.rawValue) form): give --keys with one key per embedding row"
            )
        }
        let keyList = try String(contentsOfFile: keys, encoding: .utf8).split(separator: "\n").map {
            String($0.split(separator: " ").first ?? "")
        }
        guard keyList.count == rows else {
            throw EvalInputError(description: "\(keys) has \(keyList.count) keys but \(embeddings) has \(rows) rows")
        }
        return try list.keyPairs(keys: keyList)
    }
}

struct EvalIdentify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identify",
        abstract: "MegaFace-style identification: rank-1 and TAR@FAR (to 1e-6) among distractors.",
        discussion: """
            Every probe is scored (cosine) against the gallery and all distractors. Rank-1: the best
            candidate is a gallery entry of the probe's identity. TAR@FAR from 2^16-bin histograms
            of genuine scores (probe × same-identity gallery) and impostor scores (probe × other
            gallery entries and × every distractor). Distractors stream from the .npy file in
            blocks of --block-rows, so a million of them need no more memory than one block.
            Labels: an int64 .npy vector or a text file with one integer per line.
            """
    )

    @Option(help: "Probe embeddings: float32 .npy (p, d).")
    var probes: String

    @Option(help: "Probe identity labels (p).")
    var probeLabels: String

    @Option(help: "Gallery embeddings: float32 .npy (g, d).")
    var gallery: String

    @Option(help: "Gallery identity labels (g).")
    var galleryLabels: String

    @Option(help: "Distractor embeddings: float32 .npy (n, d); none if omitted.")
    var distractors: String?

    @Option(help: "Candidate rows scored per sgemm block.")
    var blockRows: Int = 4096

    @Flag(help: "Rows are already L2-normalised; do not normalise.")
    var noNormalize = false

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        let p = try readMatrix(probes)
        let g = try readMatrix(gallery)
        guard g.dim == p.dim else {
            throw EvalInputError(description: "\(gallery) is \(g.dim)-d but \(probes) is \(p.dim)-d")
        }
        let source: any DistractorSource
        if let distractors {
            let file = try NPYFile(path: distractors)
            guard file.shape.count == 2, file.dtype == .float32 else {
                throw EvalInputError(
                    description:
                        "\(distractors): expected a float32 (n, d) matrix, found \(file.dtype.rawValue) \(file.shape)")
            }
            source = file
        } else {
            source = InMemoryDistractors([], dim: p.dim)
        }
        let r = try Identification.evaluate(
            probes: p.values, probeLabels: try readLabels(probeLabels), gallery: g.values,
            galleryLabels: try readLabels(galleryLabels), distractors: source, dim: p.dim,
            normalize: !noNormalize, blockRows: blockRows)
        let seconds = r.seconds
        if json {
            try printJSON([
                "probes": r.probeCount, "gallery": r.galleryCount, "distractors": r.distractorCount,
                "rank1": r.rank1, "genuine_scores": r.genuineCount, "impostor_scores": r.impostorCount,
                "seconds": seconds, "pairs_per_second": Double(r.scoredPairs) / seconds,
                "tar_at_far": r.tarAtFar.map {
                    ["far": $0.farTarget, "threshold": $0.threshold, "far_reached": $0.far, "tar": $0.tar]
                },
            ])
            return
        }
        print("probes \(r.probeCount), gallery \(r.galleryCount), distractors \(r.distractorCount), \(p.dim)-d")
        print(String(format: "rank-1       %.4f", r.rank1))
        for t in r.tarAtFar {
            print(
                String(
                    format: "TAR@FAR=%-6g %.4f (threshold %.4f, FAR reached %.2e)", t.farTarget, t.tar, t.threshold,
                    t.far))
        }
        print(
            String(
                format: "scored %d pairs in %.2f s (%.3g pairs/s)", r.scoredPairs, seconds,
                Double(r.scoredPairs) / seconds))
    }
}
