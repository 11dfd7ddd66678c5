// Evaluation: the meta files of an IJB-B / IJB-C release as insightface's scripts read them,
// under ROOT/meta/ (names prefixed `ijbc_` or `ijbb_`), images under ROOT/loose_crop/:
//   {t}_face_tid_mid.txt          `image_name template_id media_id`, one line per image
//   {t}_name_5pts_score.txt       `image_name x1 y1 … x5 y5 face_score`, the same images in the same order
//   {t}_template_pair_label.txt   `template_id template_id label` (label 1 = same subject)
//   {t}_1N_gallery_G1.csv / _G2   `TEMPLATE_ID,SUBJECT_ID,…` after a header line (IJB-B: _S1 / _S2)
//   {t}_1N_probe_mixed.csv        the 1:N probes, same columns
// Every malformed line is refused with its file and line number.
import Foundation

public enum IJBMetaError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String)
    case badLine(path: String, line: Int, reason: String)
    case noRelease(root: String)

    public var description: String {
        switch self {
        case .cannotRead(let path): return "\(path): cannot read"
        case .badLine(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .noRelease(let root):
            return
                "\(root): no meta/ijbc_face_tid_mid.txt or meta/ijbb_face_tid_mid.txt (an IJB-C or IJB-B release root)"
        }
    }
}

/// One image of the release: its file, template, media, landmarks and detector score.
public struct IJBImage: Sendable, Equatable {
    public var name: String
    public var template: Int
    public var media: Int
    /// Five (x, y) points in loose-crop pixels: eyes, nose, mouth corners.
    public var landmarks: [Float]
    public var faceScore: Float
}

public struct IJBTemplatePair: Sendable, Equatable {
    public var first: Int
    public var second: Int
    public var same: Bool
}

/// A template of the 1:N lists and its subject.
public struct IJBTemplateSubject: Sendable, Equatable {
    public var template: Int
    public var subject: Int
}

public struct IJBMeta: Sendable {
    /// `ijbc` or `ijbb`.
    public var target: String
    public var root: String
    public var images: [IJBImage]
    public var pairs: [IJBTemplatePair]
    /// G1 then G2 (S1 then S2), one row per line as the CSVs list them; nil without 1:N files.
    public var gallery: [IJBTemplateSubject]?
    public var probes: [IJBTemplateSubject]?

    public var imageDirectory: String { root + "/loose_crop" }

    /// Reads a release root. `target` ("ijbc"/"ijbb") is found from the files when nil.
    public static func read(root: String, target: String? = nil) throws -> IJBMeta {
        let fm = FileManager.default
        let t =
            try target?.lowercased()
            ?? ["ijbc", "ijbb"].first { fm.fileExists(atPath: "\(root)/meta/\($0)_face_tid_mid.txt") }
            ?? { throw IJBMetaError.noRelease(root: root) }()
        let meta = root + "/meta/" + t
        let tidMid = try readTidMid(meta + "_face_tid_mid.txt")
        let scored = try readLandmarks(meta + "_name_5pts_score.txt")
        guard tidMid.count == scored.count else {
            throw IJBMetaError.badLine(
                path: meta + "_name_5pts_score.txt", line: min(tidMid.count, scored.count) + 1,
                reason:
                    "\(scored.count) images here but \(tidMid.count) in \(t)_face_tid_mid.txt (the two lists must match line by line)"
            )
        }
        var images: [IJBImage] = []
        images.reserveCapacity(tidMid.count)
        for (k, (a, b)) in zip(tidMid, scored).enumerated() {
            guard a.name == b.name else {
                throw IJBMetaError.badLine(
                    path: meta + "_name_5pts_score.txt", line: k + 1,
                    reason: "image \(b.name), but line \(k + 1) of \(t)_face_tid_mid.txt names \(a.name)")
            }
            images.append(
                IJBImage(name: a.name, template: a.template, media: a.media, landmarks: b.landmarks, faceScore: b.score)
            )
        }
        let known = Set(images.map(\.template))
        let pairs = try readPairs(meta + "_template_pair_label.txt", known: known)
        let (g1, g2) = t == "ijbb" ? ("S1", "S2") : ("G1", "G2")
        let lists = ["_1N_gallery_\(g1).csv", "_1N_gallery_\(g2).csv", "_1N_probe_mixed.csv"].map { meta + $0 }
        var gallery: [IJBTemplateSubject]?
        var probes: [IJBTemplateSubject]?
        if lists.allSatisfy({ fm.fileExists(atPath: $0) }) {
            gallery = try readSubjects(lists[0], known: known) + readSubjects(lists[1], known: known)
            probes = try readSubjects(lists[2], known: known)
        }
        return IJBMeta(target: t, root: root, images: images, pairs: pairs, gallery: gallery, probes: probes)
    }

    /// Lines of a text file, numbered from 1, blank lines dropped, `\r` stripped.
    static func lines(_ path: String) throws -> [(Int, [Substring])] {
        guard let data = FileManager.default.contents(atPath: path) else { throw IJBMetaError.cannotRead(path: path) }
        var out: [(Int, [Substring])] = []
        for (i, raw) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let text = String(decoding: raw, as: UTF8.self)
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "," })
            if !fields.isEmpty { out.append((i + 1, fields)) }
        }
        return out
    }

    private static func int(_ s: Substring, _ what: String, _ path: String, _ line: Int) throws -> Int {
        guard let v = Int(s) else {
            throw IJBMetaError.badLine(path: path, line: line, reason: "\(what) '\(s)' is not an integer")
        }
        return v
    }

    static func readTidMid(_ path: String) throws -> [(name: String, template: Int, media: Int)] {
        try lines(path).map { line, f in
            guard f.count == 3 else {
                throw IJBMetaError.badLine(
                    path: path, line: line,
                    reason: "expected `image_name template_id media_id`, found \(f.count) fields")
            }
            return (String(f[0]), try int(f[1], "template id", path, line), try int(f[2], "media id", path, line))
        }
    }

    static func readLandmarks(_ path: String) throws -> [(name: String, landmarks: [Float], score: Float)] {
        try lines(path).map { line, f in
            guard f.count == 12 else {
                throw IJBMetaError.badLine(
                    path: path, line: line,
                    reason: "expected `image_name x1 y1 … x5 y5 face_score` (12 fields), found \(f.count)")
            }
            let values = try f[1...].map { s -> Float in
                guard let v = Float(s), v.isFinite else {
                    throw IJBMetaError.badLine(path: path, line: line, reason: "'\(s)' is not a number")
                }
                return v
            }
            return (String(f[0]), Array(values[0..<10]), values[10])
        }
    }

    static func readPairs(_ path: String, known: Set<Int>) throws -> [IJBTemplatePair] {
        try lines(path).map { line, f in
            guard f.count == 3 else {
                throw IJBMetaError.badLine(
                    path: path, line: line, reason: "expected `template_id template_id label`, found \(f.count) fields")
            }
            let a = try int(f[0], "template id", path, line)
            let b = try int(f[1], "template id", path, line)
            let label = try int(f[2], "label", path, line)
            guard label == 0 || label == 1 else {
                throw IJBMetaError.badLine(path: path, line: line, reason: "label \(label) is neither 0 nor 1")
            }
            for t in [a, b] where !known.contains(t) {
                throw IJBMetaError.badLine(
                    path: path, line: line, reason: "template \(t) has no image in the face list")
            }
            return IJBTemplatePair(first: a, second: b, same: label == 1)
        }
    }

    static func readSubjects(_ path: String, known: Set<Int>) throws -> [IJBTemplateSubject] {
        let all = try lines(path)
        guard let header = all.first, header.1.first.map({ Int($0) == nil }) == true else {
            throw IJBMetaError.badLine(
                path: path, line: all.first?.0 ?? 1, reason: "expected a header line `TEMPLATE_ID,SUBJECT_ID,…`")
        }
        return try all.dropFirst().map { line, f in
            guard f.count >= 2 else {
                throw IJBMetaError.badLine(path: path, line: line, reason: "expected `TEMPLATE_ID,SUBJECT_ID,…`")
            }
            let t = try int(f[0], "template id", path, line)
            guard known.contains(t) else {
                throw IJBMetaError.badLine(
                    path: path, line: line, reason: "template \(t) has no image in the face list")
            }
            return IJBTemplateSubject(template: t, subject: try int(f[1], "subject id", path, line))
        }
    }
}
