#!/usr/bin/env python3
"""Write the evaluation fixtures and their golden metrics from an independent computation.

The score lists are drawn once from fixed seeds and written with four decimals, so they
contain ties. The metrics are then computed from the values read back from those files,
with scikit-learn's ``roc_curve`` giving the miss and false-alarm rates at every threshold.
The normal deviates come from SciPy, and the AS-norm reference values from a direct NumPy
transcription of the formula.

Run from the repository root: ``python3 tools/eval_golden.py``. Output goes to
``fixtures/eval/``. Versions used: scikit-learn 1.9.1, NumPy 2.4.6, SciPy 1.17.1.
"""

import json
from pathlib import Path

import numpy as np
from scipy.stats import norm
from sklearn.metrics import roc_curve

FIXTURES = Path("fixtures/eval")

# (file name, seed, targets, non-targets). The large list has over 1,000 non-target trials,
# so it has an FRR at 0.1% FAR; the small one does not.
SCORE_LISTS = [
    ("scores_large.txt", 59, 400, 1600),
    ("scores_small.txt", 7, 30, 90),
]

FAR_POINTS = [("frr_at_far_1pct", 0.01, 0), ("frr_at_far_0.1pct", 0.001, 1000)]


def write_score_list(path, seed, n_targets, n_non_targets):
    rng = np.random.default_rng(seed)
    targets = rng.normal(0.72, 0.09, n_targets)
    non_targets = rng.normal(0.48, 0.11, n_non_targets)
    rows = [(1, s) for s in targets] + [(0, s) for s in non_targets]
    order = rng.permutation(len(rows))
    with open(path, "w") as f:
        for i in order:
            label, score = rows[i]
            f.write(f"{label} {np.clip(score, -1, 1):.4f}\n")


def read_score_list(path):
    labels, scores = [], []
    for line in open(path):
        label, score = line.split()
        labels.append(int(label))
        scores.append(float(score))
    return np.array(labels), np.array(scores)


def unique_argmin(values, what):
    index = int(np.argmin(values))
    ties = np.flatnonzero(np.abs(values - values[index]) < 1e-12)
    assert len(ties) == 1, f"{what}: the minimum is reached at {len(ties)} thresholds"
    return index


def metrics(labels, scores):
    fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    fnr = 1.0 - tpr
    n_targets = int(labels.sum())
    n_non_targets = len(labels) - n_targets

    eer_index = unique_argmin(np.abs(fnr - fpr), "EER")
    result = {
        "trials": len(labels),
        "targets": n_targets,
        "eer": (fnr[eer_index] + fpr[eer_index]) / 2,
        "eer_threshold": thresholds[eer_index],
    }

    for p_target in (0.01, 0.05):
        dcf = (p_target * fnr + (1 - p_target) * fpr) / min(p_target, 1 - p_target)
        result[f"min_dcf_{p_target}"] = float(dcf.min())

    for key, far, min_non_targets in FAR_POINTS:
        if n_non_targets < min_non_targets:
            result[key] = None
            result[f"{key}_threshold"] = None
            continue
        index = int(np.flatnonzero(fpr <= far)[-1])
        result[key] = float(fnr[index])
        result[f"{key}_threshold"] = float(thresholds[index])

    det = {"false_alarm": fpr.tolist(), "miss": fnr.tolist()}
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in result.items()}, det


def as_norm_reference():
    """Random unit vectors and the AS-norm scores of five pairs, top 4 of a cohort of 12."""
    rng = np.random.default_rng(3)

    def unit(n):
        v = rng.normal(size=(n, 8))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    cohort, enroll, test = unit(12), unit(5), unit(5)
    top_n = 4

    def stats(x):
        top = np.sort(cohort @ x)[::-1][:top_n]
        return top.mean(), top.std()

    normalized = []
    for e, t in zip(enroll, test):
        score = float(e @ t)
        mean_e, std_e = stats(e)
        mean_t, std_t = stats(t)
        normalized.append(0.5 * ((score - mean_e) / std_e + (score - mean_t) / std_t))
    return {
        "top_n": top_n,
        "cohort": cohort.tolist(),
        "enroll": enroll.tolist(),
        "test": test.tolist(),
        "normalized": normalized,
    }


def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    golden = {"score_lists": {}}
    for name, seed, n_targets, n_non_targets in SCORE_LISTS:
        path = FIXTURES / name
        write_score_list(path, seed, n_targets, n_non_targets)
        labels, scores = read_score_list(path)
        values, det = metrics(labels, scores)
        golden["score_lists"][name] = values
        if name == "scores_small.txt":
            golden["det_small"] = det

    probabilities = [1e-6, 0.0005, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 0.95, 0.999, 1 - 1e-6]
    golden["normal_deviates"] = [[p, float(norm.ppf(p))] for p in probabilities]
    golden["as_norm"] = as_norm_reference()

    with open(FIXTURES / "golden.json", "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
