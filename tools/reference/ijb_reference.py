"""Reference for FFC Console's IJB-B/IJB-C template protocols (Sources/FFCEngine/Evaluation/IJB*.swift).

Our own numpy + scikit-learn code for the semantics of insightface's arcface_torch
`eval_ijbc.py` (1:1) and its `IJB_1N.py` (1:N), run on a small synthetic IJB-shaped case that is
written to disk exactly as the real release lays it out:

    ijb/IJBC/meta/ijbc_face_tid_mid.txt        image_name template_id media_id
    ijb/IJBC/meta/ijbc_template_pair_label.txt template_id template_id label
    ijb/IJBC/meta/ijbc_name_5pts_score.txt     image_name x1 y1 ... x5 y5 face_score
    ijb/IJBC/meta/ijbc_1N_gallery_G1.csv       TEMPLATE_ID,SUBJECT_ID,FILENAME (header line)
    ijb/IJBC/meta/ijbc_1N_gallery_G2.csv
    ijb/IJBC/meta/ijbc_1N_probe_mixed.csv
    ijb/IJBC/loose_crop/<image_name>           a few real image files for the alignment check

Image features are given (ijb_features.npy and ijb_features_flip.npy, float32), so no network is
involved: the script does what the Python tools do with features:
  1:1  flip sum (plain + mirrored), optional per-image L2 normalisation (arcface's
       use_norm_score=False), optional face-score weighting, media pooling (mean of a media's
       images) then template pooling (sum over media), L2-normalised templates, cosine score per
       pair, sklearn roc_curve (drop_intermediate=True), TAR at each FAR 1e-6..1e-1 as the
       ROC point whose FPR is nearest the target (largest TPR on ties: the script flips the
       curve and takes the first minimum), AUC.
  1:N  gallery = G1 then G2 templates (first subject of each template), probes from the mixed
       probe list, rank-1/5/10 over the gallery, TPIR at FPIR 0.01 and 0.1: the threshold is the
       k-th largest non-mated score, k = ceil(probes x FPIR), TPIR = share of mated scores above.
Alignment: the 5 landmarks are mapped onto the ArcFace 112x112 reference points by Umeyama's
least-squares similarity (via SVD, as skimage's SimilarityTransform.estimate), and the image is
resampled by the inverse map with bilinear interpolation (pixel centres at integer coordinates,
outside pixels 0, rounded half away from zero to uint8), as cv2.warpAffine does up to its 1/32-pixel
fixed-point grid.

Writes Tests/FFCEngineTests/Fixtures/eval/ijb/ and ijb_expected.json.
Run: python3 tools/reference/ijb_reference.py
"""
import json
import math
import os
import struct
import zlib

import numpy as np
from sklearn.metrics import auc, roc_curve

OUT = os.path.join(os.path.dirname(__file__), "../../Tests/FFCEngineTests/Fixtures/eval")
ROOT = os.path.join(OUT, "ijb", "IJBC")
FARS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
FPIRS = [0.01, 0.1]
REFERENCE_112 = np.array(
    [[30.2946, 51.6963], [65.5318, 51.5014], [48.0252, 71.7366], [33.5493, 92.3655], [62.7299, 92.2041]],
    dtype=np.float32,
)
REFERENCE_112[:, 0] += 8.0


# ---------------------------------------------------------------- protocol on features


def input_features(plain, mirrored, scores, flip, normalise, face_score):
    f = (plain + mirrored) if flip else plain
    f = f.astype(np.float64)
    if normalise:
        f = f / np.sqrt(np.sum(f**2, -1, keepdims=True))
    if face_score:
        f = f * scores.astype(np.float64)[:, None]
    return f


def template_features(feats, templates, medias, chosen=None):
    unique = np.unique(templates if chosen is None else chosen)
    out = np.zeros((len(unique), feats.shape[1]))
    for t_index, t in enumerate(unique):
        rows = np.where(templates == t)[0]
        assert len(rows) > 0
        f, m = feats[rows], medias[rows]
        pooled = []
        for u in np.unique(m):
            pooled.append(f[m == u].mean(axis=0))
        out[t_index] = np.sum(pooled, axis=0)
    out = out / np.sqrt(np.sum(out**2, -1, keepdims=True))
    return out, unique


def verify(feats, templates, medias, p1, p2, label):
    tf, unique = template_features(feats, templates, medias)
    row = {t: i for i, t in enumerate(unique)}
    score = np.array([tf[row[a]] @ tf[row[b]] for a, b in zip(p1, p2)])
    fpr, tpr, thr = roc_curve(label, score)
    area = auc(fpr, tpr)
    ffpr, ftpr = np.flipud(fpr), np.flipud(tpr)
    tars = []
    for far in FARS:
        _, k = min(zip(abs(ffpr - far), range(len(ffpr))))
        tars.append({"far": far, "tar": float(ftpr[k]), "fpr_at": float(ffpr[k])})
    return {
        "pairs": int(len(score)),
        "genuine": int(np.sum(label == 1)),
        "templates": int(len(unique)),
        "auc": float(area),
        "roc_points": int(len(fpr)),
        "score_first": [float(s) for s in score[:8]],
        "tar_at_far": tars,
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "threshold": thr[1:].tolist()},
    }


def identify(feats, templates, medias, gallery, probe):
    gt, gs = gallery
    pt, ps = probe

    def pooled(t, s):
        unique, first = np.unique(t, return_index=True)
        f, u = template_features(feats, templates, medias, chosen=t)
        assert (u == unique).all()
        return f, unique, s[first]

    gf, gu, gsub = pooled(gt, gs)
    qf, qu, qsub = pooled(pt, ps)
    mask = []
    for s in qsub:
        hits = np.where(gsub == s)[0]
        assert len(hits) == 1
        mask.append(hits[0])
    mask = np.array(mask)
    sim = qf @ gf.T
    order = np.argsort(-sim, axis=1, kind="stable")
    ranks = {}
    for k in (1, 5, 10):
        ranks[k] = float(np.mean([mask[i] in order[i, :k] for i in range(len(qf))]))
    pos = sim[np.arange(len(qf)), mask]
    neg = sim.copy()
    neg[np.arange(len(qf)), mask] = -np.inf
    neg = np.sort(neg[np.isfinite(neg)])[::-1]
    tpir = []
    for fpir in FPIRS:
        k = math.ceil(len(qf) * fpir)
        th = neg[k - 1]
        tpir.append({"fpir": fpir, "threshold": float(th), "tpir": float(np.sum(pos > th) / len(qf))})
    return {
        "probes": int(len(qf)),
        "gallery": int(len(gf)),
        "rank1": ranks[1],
        "rank5": ranks[5],
        "rank10": ranks[10],
        "tpir_at_fpir": tpir,
    }


# ---------------------------------------------------------------- alignment


def umeyama(src, dst):
    src = src.astype(np.float64)
    dst = dst.astype(np.float64)
    n, dim = src.shape
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    a = d0.T @ s0 / n
    d = np.ones(dim)
    if np.linalg.det(a) < 0:
        d[-1] = -1
    u, s, vt = np.linalg.svd(a)
    r = u @ np.diag(d) @ vt
    scale = (s @ d) / s0.var(0).sum()
    t = md - scale * (r @ ms)
    return np.hstack([scale * r, t[:, None]])


def warp(img, m, size=112):
    full = np.vstack([m, [0, 0, 1]])
    inv = np.linalg.inv(full)[:2]
    h, w, c = img.shape
    out = np.zeros((size, size, c), dtype=np.float64)
    ys, xs = np.mgrid[0:size, 0:size]
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    fx, fy = sx - x0, sy - y0
    src = img.astype(np.float64)
    for dy in (0, 1):
        for dx in (0, 1):
            xx, yy = x0 + dx, y0 + dy
            wgt = (fx if dx else 1 - fx) * (fy if dy else 1 - fy)
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            v = np.zeros((size, size, c))
            v[inside] = src[yy[inside], xx[inside]]
            out += wgt[..., None] * v
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


# ---------------------------------------------------------------- the synthetic case


def main():
    rng = np.random.default_rng(19)
    dim, subjects = 16, 24
    meta = os.path.join(ROOT, "meta")
    crops = os.path.join(ROOT, "loose_crop")
    os.makedirs(meta, exist_ok=True)
    os.makedirs(crops, exist_ok=True)

    centre = rng.normal(size=(subjects, dim))
    names, tids, mids, subj_of_t = [], [], [], {}
    feats, feats_flip, scores, landmarks = [], [], [], []
    image = 0
    media = 1000
    template = 1
    templates_of = {}
    for s in range(subjects):
        templates_of[s] = []
        for _ in range(int(rng.integers(3, 6))):
            t_off = rng.normal(scale=0.9, size=dim)
            for _ in range(int(rng.integers(1, 4))):
                frames = int(rng.integers(1, 4))
                for _ in range(frames):
                    image += 1
                    base = centre[s] + t_off + rng.normal(scale=0.7, size=dim)
                    norm = rng.uniform(0.5, 3.0)
                    f = base / np.linalg.norm(base) * norm
                    feats.append(f)
                    feats_flip.append(f + rng.normal(scale=0.15, size=dim))
                    scores.append(round(float(rng.uniform(0.3, 1.0)), 6))
                    lm = REFERENCE_112 * rng.uniform(0.8, 1.4) + rng.uniform(-6, 6, size=2)
                    lm = lm + rng.normal(scale=1.0, size=lm.shape)
                    landmarks.append(np.round(lm, 3))
                    names.append(f"{image}.png")
                    tids.append(template)
                    mids.append(media)
                media += 1
            subj_of_t[template] = s
            templates_of[s].append(template)
            template += 1
    feats = np.array(feats, dtype=np.float32)
    feats_flip = np.array(feats_flip, dtype=np.float32)
    scores_arr = np.array(scores, dtype=np.float32)
    tids, mids = np.array(tids), np.array(mids)
    np.save(os.path.join(OUT, "ijb_features.npy"), feats)
    np.save(os.path.join(OUT, "ijb_features_flip.npy"), feats_flip)

    with open(os.path.join(meta, "ijbc_face_tid_mid.txt"), "w") as f:
        for n, t, m in zip(names, tids, mids):
            f.write(f"{n} {t} {m}\n")
    with open(os.path.join(meta, "ijbc_name_5pts_score.txt"), "w") as f:
        for n, lm, sc in zip(names, landmarks, scores):
            f.write(n + " " + " ".join(f"{v:g}" for v in lm.ravel()) + f" {sc:g}\n")

    all_t = sorted(subj_of_t)
    p1, p2, lab = [], [], []
    for i, a in enumerate(all_t):
        for b in all_t[i + 1:]:
            same = subj_of_t[a] == subj_of_t[b]
            if same or rng.uniform() < 0.35:
                p1.append(a)
                p2.append(b)
                lab.append(1 if same else 0)
    p1, p2, lab = np.array(p1), np.array(p2), np.array(lab)
    with open(os.path.join(meta, "ijbc_template_pair_label.txt"), "w") as f:
        for a, b, l in zip(p1, p2, lab):
            f.write(f"{a} {b} {l}\n")

    # 1:N: each subject's first template is its gallery template (G1: even subjects, G2: odd),
    # the others are probes. Rows are per image, as in the release.
    g1, g2, pr = [], [], []
    for s in range(subjects):
        first, *rest = templates_of[s]
        (g1 if s % 2 == 0 else g2).append((first, s))
        pr.extend((t, s) for t in rest)

    def write_csv(name, rows):
        out_t, out_s = [], []
        with open(os.path.join(meta, name), "w") as f:
            f.write("TEMPLATE_ID,SUBJECT_ID,FILENAME\n")
            for t, s in rows:
                for n in np.array(names)[tids == t]:
                    f.write(f"{t},{s + 500},{n}\n")
                    out_t.append(t)
                    out_s.append(s + 500)
        return np.array(out_t), np.array(out_s)

    g1t, g1s = write_csv("ijbc_1N_gallery_G1.csv", g1)
    g2t, g2s = write_csv("ijbc_1N_gallery_G2.csv", g2)
    prt, prs = write_csv("ijbc_1N_probe_mixed.csv", pr)
    gallery = (np.concatenate([g1t, g2t]), np.concatenate([g1s, g2s]))

    expected = {"images": int(len(names)), "dim": dim, "modes": {}}
    for mode, (flip, normalise, face) in {
        "default": (True, False, True),
        "no_flip": (False, False, True),
        "normalised_no_score": (True, True, False),
    }.items():
        x = input_features(feats, feats_flip, scores_arr, flip, normalise, face)
        v = verify(x, tids, mids, p1, p2, lab)
        if mode != "default":
            del v["roc"]
        expected["modes"][mode] = {"verify": v, "identify": identify(x, tids, mids, gallery, (prt, prs))}

    # Alignment: three loose crops with their landmarks (the first three images).
    align = []
    for k in range(3):
        h, w = 150 + 10 * k, 130 + 7 * k
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([(xx * 3 + yy) % 256, (yy * 2 + 40 * k) % 256, ((xx - w // 2) ** 2 + (yy - h // 2) ** 2) // 16 % 256], -1).astype(np.uint8)
        write_png(os.path.join(crops, names[k]), img)
        m = umeyama(landmarks[k].astype(np.float32), REFERENCE_112)
        out = warp(img, m)
        write_png(os.path.join(OUT, f"ijb_aligned_{k}.png"), out)
        align.append({"name": names[k], "matrix": m.tolist()})
    expected["alignment"] = align
    with open(os.path.join(OUT, "ijb_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(json.dumps({k: v for k, v in expected["modes"]["default"]["verify"].items() if k != "roc"}))
    print(json.dumps(expected["modes"]["default"]["identify"]))


if __name__ == "__main__":
    main()
