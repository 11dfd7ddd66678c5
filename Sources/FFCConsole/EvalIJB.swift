// `ffc eval ijb`: the IJB-B / IJB-C 1:1 and 1:N template protocols of a release root, on a
// checkpoint's features (the loose crops aligned by their landmarks) or on precomputed ones.
import ArgumentParser
import FFCEngine
import Foundation

struct EvalIJB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ijb",
        abstract: "IJB-B / IJB-C template verification (TAR@FAR 1e-6…1e-1) and 1:N identification.",
        discussion: """
            The protocols of insightface's arcface_torch (eval_ijbc.py, IJB_1N.py). ROOT holds
            meta/ijbc_face_tid_mid.txt, meta/ijbc_name_5pts_score.txt,
            meta/ijbc_template_pair_label.txt (ijbb_… for IJB-B), the 1:N lists
            meta/ijbc_1N_gallery_G1.csv, _G2.csv, _probe_mixed.csv when present, and loose_crop/.
            Image feature = plain + mirrored crop (flip test), × the detector's face score unless
            --no-face-score; media features are the mean of their images, template features the
            sum of their media, L2-normalised; pair score = cosine.

            Features come from --model (each loose crop aligned to 112×112 by a similarity
            transform of its 5 landmarks onto the ArcFace reference points) or from --embeddings
            X.npy: float32 (images, d), one row per line of the face list in order, with
            --flip-embeddings for the mirrored crops.
            """
    )

    @Option(help: "Release root (holds meta/ and loose_crop/).")
    var root: String

    @Option(help: "ijbc or ijbb (default: whichever meta files ROOT holds).")
    var target: String?

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Precomputed features: float32 .npy (images, d) in face-list order (or give --model).")
    var embeddings: String?

    @Option(help: "Features of the mirrored crops, same shape as --embeddings (summed in: the flip test).")
    var flipEmbeddings: String?

    @Flag(help: "Do not add the mirrored crop's feature (with --model: do not embed it).")
    var noFlip = false

    @Flag(help: "Do not weight image features by the detector's face score (arcface's use_detector_score).")
    var noFaceScore = false

    @Flag(help: "L2-normalise each image feature before pooling (arcface's use_norm_score = False).")
    var normaliseImages = false

    @Option(name: .customLong("protocol"), help: "Protocols to run: 1:1, 1:N or all.")
    var protocolName: String = "all"

    @Option(help: "Write the 1:1 ROC (fpr,tpr,threshold per line) to this CSV file.")
    var roc: String?

    @Option(help: "Draw the 1:1 ROC (log-FAR axis) into this SVG or PNG file (by extension).")
    var plot: String?

    @Option(help: "The curve's name in the plot's legend (default: the model or embeddings file name).")
    var label: String?

    @Flag(help: "Print one JSON object per protocol instead of a table.")
    var json = false

    func validate() throws {
        guard ["1:1", "1:N", "all"].contains(protocolName) else {
            throw ValidationError("--protocol \(protocolName): use 1:1, 1:N or all")
        }
        if modelOptions.model != nil && embeddings != nil {
            throw ValidationError("give --model or --embeddings, not both")
        }
        if let plot, Figure.format(of: plot) == nil {
            throw ValidationError("--plot \(plot): plots are written as SVG (.svg) or PNG (.png)")
        }
    }

    func run() throws {
        let meta = try IJBMeta.read(root: root, target: target)
        let options = IJBOptions(flip: !noFlip, normaliseImages: normaliseImages, faceScore: !noFaceScore)
        let plain: [Float]
        let mirrored: [Float]?
        let dim: Int
        let started = Date()
        if let embedder = try modelOptions.embedder() {
            let e = try embedder.embed(ijb: meta, flip: !noFlip)
            (plain, mirrored, dim) = (e.plain, e.mirrored, e.dim)
        } else {
            guard let embeddings else { throw ValidationError("give --embeddings X.npy or --model CKPT") }
            let m = try readMatrix(embeddings)
            guard m.rows == meta.images.count else {
                throw EvalInputError(
                    description:
                        "\(embeddings) has \(m.rows) rows but the face list of \(root) has \(meta.images.count) images")
            }
            if let flipEmbeddings {
                let f = try readMatrix(flipEmbeddings)
                guard f.rows == m.rows, f.dim == m.dim else {
                    throw EvalInputError(
                        description:
                            "\(flipEmbeddings): shape (\(f.rows), \(f.dim)) differs from \(embeddings)'s (\(m.rows), \(m.dim))"
                    )
                }
                mirrored = f.values
            } else {
                mirrored = nil
            }
            (plain, dim) = (m.values, m.dim)
        }
        let embedSeconds = Date().timeIntervalSince(started)
        let features = try IJB.imageFeatures(
            plain: plain, mirrored: mirrored, faceScores: meta.images.map(\.faceScore), dim: dim, options: options)
        let name = meta.target.uppercased()
        if protocolName != "1:N" {
            let v = try IJB.verify(features: features, dim: dim, meta: meta)
            if let roc { try AtomicFile.write(Array(v.roc.csv.utf8), to: roc) }
            if let plot {
                let curveName =
                    label ?? ((modelOptions.model ?? embeddings ?? "model") as NSString).lastPathComponent
                try Figure(charts: [
                    Chart.roc(title: "\(name) 1:1 verification", curves: [(curveName, v.roc.fpr, v.roc.tpr)])
                ]).write(to: plot)
            }
            if json {
                try printJSON([
                    "protocol": "1:1", "release": meta.target, "images": meta.images.count, "dim": dim,
                    "pairs": v.pairs, "genuine": v.genuine, "templates": v.templates, "auc": v.roc.auc,
                    "flip": options.flip && mirrored != nil, "face_score": options.faceScore,
                    "normalise_images": options.normaliseImages, "embed_seconds": embedSeconds,
                    "tar_at_far": v.tarAtFar.map { ["far": $0.far, "tar": $0.tar] },
                ])
            } else {
                print(
                    "\(name) 1:1  \(v.pairs) pairs (\(v.genuine) genuine), \(v.templates) templates, \(meta.images.count) images, \(dim)-d"
                )
                print("FAR      " + v.tarAtFar.map { String(format: "%8.0e", $0.far) }.joined(separator: " "))
                print("TAR      " + v.tarAtFar.map { String(format: "%8.4f", $0.tar) }.joined(separator: " "))
                print(String(format: "AUC      %.6f", v.roc.auc))
            }
        }
        if protocolName != "1:1" {
            guard let r = try IJB.identify(features: features, dim: dim, meta: meta) else {
                if protocolName == "1:N" {
                    throw EvalInputError(description: "\(root)/meta: no 1:N gallery and probe lists")
                }
                return
            }
            if json {
                try printJSON([
                    "protocol": "1:N", "release": meta.target, "probes": r.probes, "gallery": r.gallery,
                    "rank1": r.rank1, "rank5": r.rank5, "rank10": r.rank10,
                    "tpir_at_fpir": r.tpirAtFpir.map { ["fpir": $0.fpir, "threshold": $0.threshold, "tpir": $0.tpir] },
                ])
            } else {
                print("\(name) 1:N  \(r.probes) probe templates, \(r.gallery) gallery templates")
                print(String(format: "rank-1 %.4f  rank-5 %.4f  rank-10 %.4f", r.rank1, r.rank5, r.rank10))
                for t in r.tpirAtFpir {
                    print(String(format: "TPIR@FPIR=%-5g %.4f (threshold %.4f)", t.fpir, t.tpir, t.threshold))
                }
            }
        }
    }
}
