// Evaluation: the IJB-B / IJB-C template protocols on image features, with the semantics of
// insightface's arcface_torch `eval_ijbc.py` (1:1) and `IJB_1N.py` (1:N):
//   image feature = plain + mirrored (flip test), optionally L2-normalised (the scripts keep the
//   norm: `use_norm_score`), optionally × the detector's face score (`use_detector_score`);
//   media feature = mean of the media's images; template feature = sum of its media features,
//   L2-normalised; pair score = cosine of the two templates.
// 1:1 reports TAR at FAR 1e-6 … 1e-1 read off the ROC curve (`ROCCurve`), 1:N rank-1/5/10 over
// the gallery (G1 then G2) and TPIR at FPIR 0.01 / 0.1. All sums run in Double in image order.
import Foundation

public enum IJBError: Error, CustomStringConvertible, Equatable {
    case featureShape(rows: Int, images: Int)
    case noPairs(String)
    case probeSubject(template: Int, subject: Int, galleryMatches: Int)

    public var description: String {
        switch self {
        case .featureShape(let rows, let images): return "\(rows) feature rows for \(images) images of the face list"
        case .noPairs(let why): return why
        case .probeSubject(let t, let s, let n):
            return "probe template \(t): subject \(s) has \(n) gallery templates (the 1:N protocol needs exactly one)"
        }
    }
}

public struct IJBOptions: Sendable, Equatable {
    /// Sum the mirrored image's feature into each image's (arcface's `use_flip_test`).
    public var flip = true
    /// L2-normalise image features before pooling (arcface's `use_norm_score = False`).
    public var normaliseImages = false
    /// Weight each image by its face score (arcface's `use_detector_score`).
    public var faceScore = true
    public init(flip: Bool = true, normaliseImages: Bool = false, faceScore: Bool = true) {
        self.flip = flip
        self.normaliseImages = normaliseImages
        self.faceScore = faceScore
    }
}

/// L2-normalised template features, one row per template id in ascending order.
public struct IJBTemplates: Sendable {
    public var ids: [Int]
    public var dim: Int
    /// (ids.count, dim) row-major.
    public var features: [Double]
    public func row(_ k: Int) -> ArraySlice<Double> { features[(k * dim)..<((k + 1) * dim)] }
}

public struct IJBVerificationResult: Sendable {
    public var pairs: Int
    public var genuine: Int
    public var templates: Int
    public var scores: [Double]
    public var roc: ROCCurve
    /// (target FAR, TAR) for 1e-6 … 1e-1.
    public var tarAtFar: [(far: Double, tar: Double)]
}

public struct IJBIdentificationResult: Sendable {
    public var probes: Int
    public var gallery: Int
    public var rank1: Double
    public var rank5: Double
    public var rank10: Double
    /// (target FPIR, threshold, TPIR) for 0.01 and 0.1, as far as the non-mated scores allow.
    public var tpirAtFpir: [(fpir: Double, threshold: Double, tpir: Double)]
}

public enum IJB {
    public static let farTargets: [Double] = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    public static let fpirTargets: [Double] = [0.01, 0.1]

    /// The features pooled into templates: (images, dim) Double, from raw (images, dim) features.
    public static func imageFeatures(
        plain: [Float], mirrored: [Float]?, faceScores: [Float], dim: Int, options: IJBOptions
    ) throws -> [Double] {
        let n = faceScores.count
        guard dim > 0, plain.count == n * dim, mirrored.map({ $0.count == plain.count }) ?? true else {
            throw IJBError.featureShape(rows: dim > 0 ? plain.count / dim : 0, images: n)
        }
        var out = [Double](repeating: 0, count: n * dim)
        for i in 0..<n {
            var norm2 = 0.0
            for k in 0..<dim {
                // The scripts add in float32 before anything else.
                let v =
                    options.flip && mirrored != nil ? plain[i * dim + k] + mirrored![i * dim + k] : plain[i * dim + k]
                out[i * dim + k] = Double(v)
                norm2 += Double(v) * Double(v)
            }
            let scale =
                (options.normaliseImages ? 1 / norm2.squareRoot() : 1) * (options.faceScore ? Double(faceScores[i]) : 1)
            if scale != 1 { for k in 0..<dim { out[i * dim + k] *= scale } }
        }
        return out
    }

    /// Media pooling then template pooling of `features` (one row per image of `images`), for
    /// the templates in `chosen` (all templates when nil), normalised.
    public static func templates(
        features: [Double], dim: Int, images: [IJBImage], chosen: Set<Int>? = nil
    ) -> IJBTemplates {
        var rowsOf: [Int: [Int]] = [:]
        for (i, image) in images.enumerated() where chosen?.contains(image.template) ?? true {
            rowsOf[image.template, default: []].append(i)
        }
        let ids = rowsOf.keys.sorted()
        var out = [Double](repeating: 0, count: ids.count * dim)
        for (t, id) in ids.enumerated() {
            var byMedia: [Int: [Int]] = [:]
            for i in rowsOf[id]! { byMedia[images[i].media, default: []].append(i) }
            for media in byMedia.keys.sorted() {
                let rows = byMedia[media]!
                for k in 0..<dim {
                    var s = 0.0
                    for i in rows { s += features[i * dim + k] }
                    out[t * dim + k] += s / Double(rows.count)
                }
            }
            var norm2 = 0.0
            for k in 0..<dim { norm2 += out[t * dim + k] * out[t * dim + k] }
            let inv = 1 / max(norm2.squareRoot(), 1e-300)
            for k in 0..<dim { out[t * dim + k] *= inv }
        }
        return IJBTemplates(ids: ids, dim: dim, features: out)
    }

    /// The 1:1 protocol: cosine of each pair's templates, ROC, TAR at FAR.
    public static func verify(features: [Double], dim: Int, meta: IJBMeta) throws -> IJBVerificationResult {
        let t = templates(features: features, dim: dim, images: meta.images)
        var rowOf: [Int: Int] = [:]
        for (k, id) in t.ids.enumerated() { rowOf[id] = k }
        let scores = meta.pairs.map { p -> Double in
            let a = rowOf[p.first]! * dim
            let b = rowOf[p.second]! * dim
            var s = 0.0
            for k in 0..<dim { s += t.features[a + k] * t.features[b + k] }
            return s
        }
        let genuine = meta.pairs.filter(\.same).count
        guard genuine > 0, genuine < meta.pairs.count else {
            throw IJBError.noPairs(
                "the pair list needs genuine and impostor pairs (\(genuine) of \(meta.pairs.count) are genuine)")
        }
        let roc = ROCCurve(scores: scores, genuine: meta.pairs.map(\.same))
        return IJBVerificationResult(
            pairs: meta.pairs.count, genuine: genuine, templates: t.ids.count, scores: scores, roc: roc,
            tarAtFar: farTargets.map { ($0, roc.tar(atFAR: $0)) })
    }

    /// The 1:N protocol on the meta's gallery and mixed probes (nil when the release has no 1:N lists).
    public static func identify(features: [Double], dim: Int, meta: IJBMeta) throws -> IJBIdentificationResult? {
        guard let galleryList = meta.gallery, let probeList = meta.probes else { return nil }
        // A template's subject is that of its first line (numpy's unique(return_index=True)).
        func subjects(_ list: [IJBTemplateSubject]) -> [Int: Int] {
            var out: [Int: Int] = [:]
            for e in list where out[e.template] == nil { out[e.template] = e.subject }
            return out
        }
        let gallerySubject = subjects(galleryList)
        let probeSubject = subjects(probeList)
        let g = templates(features: features, dim: dim, images: meta.images, chosen: Set(gallerySubject.keys))
        let q = templates(features: features, dim: dim, images: meta.images, chosen: Set(probeSubject.keys))
        var galleryRowsOfSubject: [Int: [Int]] = [:]
        for (k, id) in g.ids.enumerated() { galleryRowsOfSubject[gallerySubject[id]!, default: []].append(k) }
        var mated: [Int] = []
        for id in q.ids {
            let s = probeSubject[id]!
            let rows = galleryRowsOfSubject[s] ?? []
            guard rows.count == 1 else {
                throw IJBError.probeSubject(template: id, subject: s, galleryMatches: rows.count)
            }
            mated.append(rows[0])
        }
        let gn = g.ids.count
        var hits = [0, 0, 0]
        var positive: [Double] = []
        var negative: [Double] = []
        negative.reserveCapacity(q.ids.count * max(gn - 1, 0))
        for p in 0..<q.ids.count {
            var sims = [Double](repeating: 0, count: gn)
            for j in 0..<gn {
                var s = 0.0
                for k in 0..<dim { s += q.features[p * dim + k] * g.features[j * dim + k] }
                sims[j] = s
            }
            let m = sims[mated[p]]
            // Rank of the mated template: candidates scoring higher, or equal and listed earlier
            // (a stable descending sort).
            var rank = 0
            for j in 0..<gn where sims[j] > m || (sims[j] == m && j < mated[p]) { rank += 1 }
            for (i, k) in [1, 5, 10].enumerated() where rank < k { hits[i] += 1 }
            positive.append(m)
            for j in 0..<gn where j != mated[p] { negative.append(sims[j]) }
        }
        negative.sort(by: >)
        let probes = Double(q.ids.count)
        var tpir: [(Double, Double, Double)] = []
        for fpir in fpirTargets {
            let k = Int((probes * fpir).rounded(.up))
            guard k >= 1, k <= negative.count else { continue }
            let threshold = negative[k - 1]
            tpir.append((fpir, threshold, Double(positive.filter { $0 > threshold }.count) / probes))
        }
        return IJBIdentificationResult(
            probes: q.ids.count, gallery: gn, rank1: Double(hits[0]) / probes, rank5: Double(hits[1]) / probes,
            rank10: Double(hits[2]) / probes, tpirAtFpir: tpir)
    }
}

extension Embedder {
    /// Raw features of every image of an IJB release, in face-list order: each loose crop
    /// decoded, aligned to 112×112 by its landmarks, then fitted to the net's input and
    /// normalised as training sees it; with `flip` the mirrored aligned crop too.
    public func embed(ijb meta: IJBMeta, flip: Bool, progress: ((Int) -> Void)? = nil) throws -> Embeddings {
        var rgb: [UInt8] = []
        // The embedder fills a batch's plain inputs, then its mirrored ones: keep each aligned
        // crop until its last use.
        var alignedOf: [Int: [UInt8]] = [:]
        return try embed(count: meta.images.count, flip: flip, progress: progress) { i, mirror, out in
            let image = meta.images[i]
            let path = meta.imageDirectory + "/" + image.name
            if alignedOf[i] == nil {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw EmbedderError.image(index: i, source: path, reason: "cannot read the file")
                }
                do {
                    let (w, h) = try data.withUnsafeBytes { try ImageCodec.decodeRGB($0, into: &rgb) }
                    alignedOf[i] = rgb.withUnsafeBufferPointer {
                        FaceAlignment.warp(
                            pixels: $0, width: w, height: h, matrix: FaceAlignment.matrix(landmarks: image.landmarks))
                    }
                } catch {
                    throw EmbedderError.image(index: i, source: path, reason: "\(error)")
                }
            }
            let aligned = alignedOf[i]!
            if mirror || !flip { alignedOf[i] = nil }
            do {
                try aligned.withUnsafeBufferPointer {
                    try self.image.fitAndNormalise(rgb: $0, width: 112, height: 112, flip: mirror, into: out)
                }
            } catch {
                throw EmbedderError.image(index: i, source: path, reason: "\(error)")
            }
        }
    }
}
