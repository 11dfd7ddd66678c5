"""Reference for FFC Console's verification protocol (Sources/FFCEngine/Evaluation/Verification.swift).

Our own numpy/scikit-learn code following the standard 10-fold protocol of insightface's
arcface_torch `eval/verification.py`: L2-normalised embeddings, squared euclidean distance,
`predict same = dist < threshold`, KFold(10, shuffle=False), thresholds np.arange(0, 4, 0.01),
best threshold (first argmax) chosen on the nine training folds and applied to the tenth;
TAR at FAR by `calculate_val` (thresholds np.arange(0, 4, 0.001); the threshold for a target
FAR is interpolated linearly on the training folds' FAR curve as scipy's interp1d(kind='slinear')
did before scipy refused repeated x values: between the last threshold whose FAR <= target
and the first whose FAR > target; threshold 0 when no threshold reaches the target). Flip augmentation: raw embedding of the image plus
raw embedding of its mirror, then normalised.

Writes Tests/FFCEngineTests/Fixtures/eval/verify_{embeddings,embeddings_flip}.npy,
verify_pairs.txt (`i j same`) and verify_expected.json.
Run: python3 tools/reference/verify_reference.py
"""
import json
import os

import numpy as np
from sklearn.model_selection import KFold

OUT = os.path.join(os.path.dirname(__file__), "../../Tests/FFCEngineTests/Fixtures/eval")
FAR_TARGETS = [1e-1, 1e-2, 1e-3, 1e-4]


def normalize(x):
    x = x.astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def accuracy_at(threshold, dist, same):
    predict = dist < threshold
    tp = np.sum(predict & same)
    fp = np.sum(predict & ~same)
    tn = np.sum(~predict & ~same)
    fn = np.sum(~predict & same)
    tpr = 0.0 if tp + fn == 0 else tp / (tp + fn)
    fpr = 0.0 if fp + tn == 0 else fp / (fp + tn)
    return tpr, fpr, (tp + tn) / dist.size


def val_far_at(threshold, dist, same):
    predict = dist < threshold
    return np.sum(predict & same) / np.sum(same), np.sum(predict & ~same) / np.sum(~same)


def threshold_at_far(far, thresholds, target):
    above = np.nonzero(far > target)[0]
    if len(above) == 0:
        return float(thresholds[np.nonzero(far == far[-1])[0][0]])
    hi = above[0]
    lo = hi - 1
    return float(thresholds[lo] + (thresholds[hi] - thresholds[lo]) * (target - far[lo]) / (far[hi] - far[lo]))


def evaluate(emb, pairs, same, folds=10):
    emb = normalize(emb)
    dist = np.sum(np.square(emb[pairs[:, 0]] - emb[pairs[:, 1]]), 1)
    thresholds = np.arange(0, 4, 0.01)
    kfold = KFold(n_splits=folds, shuffle=False)
    idx = np.arange(len(dist))
    tprs = np.zeros((folds, len(thresholds)))
    fprs = np.zeros((folds, len(thresholds)))
    acc = np.zeros(folds)
    best = np.zeros(folds)
    for f, (train, test) in enumerate(kfold.split(idx)):
        acc_train = np.array([accuracy_at(t, dist[train], same[train])[2] for t in thresholds])
        b = int(np.argmax(acc_train))
        best[f] = thresholds[b]
        for ti, t in enumerate(thresholds):
            tprs[f, ti], fprs[f, ti], _ = accuracy_at(t, dist[test], same[test])
        acc[f] = accuracy_at(thresholds[b], dist[test], same[test])[2]
    result = {
        "fold_accuracy": acc.tolist(),
        "accuracy_mean": float(np.mean(acc)),
        "accuracy_std": float(np.std(acc)),
        "fold_threshold": best.tolist(),
        "threshold": float(np.mean(best)),
        "roc_tpr": np.mean(tprs, 0).tolist(),
        "roc_fpr": np.mean(fprs, 0).tolist(),
        "tar_at_far": [],
    }
    fine = np.arange(0, 4, 0.001)
    n_impostor = int(np.sum(~same))
    for target in FAR_TARGETS:
        if n_impostor * target < 1:
            continue
        val = np.zeros(folds)
        far = np.zeros(folds)
        for f, (train, test) in enumerate(kfold.split(idx)):
            far_train = np.array([val_far_at(t, dist[train], same[train])[1] for t in fine])
            if np.max(far_train) >= target:
                threshold = threshold_at_far(far_train, fine, target)
            else:
                threshold = 0.0
            val[f], far[f] = val_far_at(threshold, dist[test], same[test])
        result["tar_at_far"].append(
            {"far_target": target, "tar_mean": float(np.mean(val)), "tar_std": float(np.std(val)), "far_mean": float(np.mean(far))}
        )
    return result


def main():
    rng = np.random.default_rng(7)
    n_pairs, dim = 2003, 16
    n_rows = 2 * n_pairs
    emb = rng.standard_normal((n_rows, dim)).astype(np.float32)
    same = rng.random(n_pairs) < 0.45
    order = rng.permutation(n_rows)
    pairs = order.reshape(n_pairs, 2)
    for k in np.nonzero(same)[0]:
        i, j = pairs[k]
        emb[j] = emb[i] + rng.normal(0, 0.9, dim).astype(np.float32)
    flip = (emb + rng.normal(0, 0.3, emb.shape)).astype(np.float32)
    np.save(os.path.join(OUT, "verify_embeddings.npy"), emb)
    np.save(os.path.join(OUT, "verify_embeddings_flip.npy"), flip)
    with open(os.path.join(OUT, "verify_pairs.txt"), "w") as f:
        for (i, j), s in zip(pairs, same):
            f.write(f"{i} {j} {int(s)}\n")
    expected = {
        "plain": evaluate(emb, pairs, same),
        "flip": evaluate(emb.astype(np.float64) + flip.astype(np.float64), pairs, same),
    }
    with open(os.path.join(OUT, "verify_expected.json"), "w") as f:
        json.dump(expected, f)
    for k, v in expected.items():
        print(k, v["accuracy_mean"], v["accuracy_std"], v["threshold"], v["tar_at_far"])


if __name__ == "__main__":
    main()
