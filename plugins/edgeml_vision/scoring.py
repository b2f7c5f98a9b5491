"""Centroid detection metrics: matching within a radius, precision, recall, F1, count error.

Matching, per frame and class: detections in order of decreasing score
(ties: the order they came in) each take the nearest ground-truth centroid
of their class that no detection took yet, if it lies within ``radius``
input pixels (distance <= radius); that is a true positive. Unmatched
detections are false positives, unmatched ground truth false negatives.
Overall precision, recall and F1 are micro-averages (summed counts over all
classes and frames). ``count_mae`` is the mean over frames of
``|detections - ground truth|`` (all classes together; per class in
``per_class``).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": float(p), "recall": float(r), "f1": float(2 * p * r / (p + r)) if p + r else 0.0}


def _rows(pred: np.ndarray) -> np.ndarray:
    pred = np.asarray(pred, np.float64)
    return pred.reshape(0, 5) if pred.size == 0 else pred.reshape(len(pred), -1)


def match_frame(pred: np.ndarray, truth: np.ndarray, n_classes: int, radius: float) -> np.ndarray:
    """(n_classes, 3) counts ``tp, fp, fn`` of one frame.

    ``pred`` (k, >=4): class, cx, cy, score; ``truth`` (m, 3): class, cx, cy
    with class -1 rows ignored.
    """
    counts = np.zeros((n_classes, 3), np.int64)
    truth = np.asarray(truth, np.float64).reshape(-1, 3)
    truth = truth[truth[:, 0] >= 0]
    pred = _rows(pred)
    order = np.argsort(-pred[:, 3], kind="stable")
    taken = np.zeros(len(truth), bool)
    r2 = radius * radius
    for i in order:
        k = int(pred[i, 0])
        cand = np.flatnonzero((truth[:, 0] == k) & ~taken)
        if len(cand):
            d2 = (truth[cand, 1] - pred[i, 1]) ** 2 + (truth[cand, 2] - pred[i, 2]) ** 2
            j = int(np.argmin(d2))
            if d2[j] <= r2:
                taken[cand[j]] = True
                counts[k, 0] += 1
                continue
        counts[k, 1] += 1
    for k in range(n_classes):
        counts[k, 2] = int(np.sum((truth[:, 0] == k) & ~taken))
    return counts


def detection_metrics(preds: list[np.ndarray], truth: np.ndarray, object_classes: list[str],
                      radius: float) -> dict[str, Any]:
    """Metrics of detections ``preds`` (one (k, >=4) array per frame) against padded ``truth`` (n, m, 3)."""
    truth = np.asarray(truth, np.float64)
    if len(preds) != len(truth):
        raise ValueError(f"{len(preds)} frames of detections for {len(truth)} frames of ground truth")
    n_cls = len(object_classes)
    total = np.zeros((n_cls, 3), np.int64)
    count_err = np.zeros((len(truth), n_cls + 1))
    for i, (p, t) in enumerate(zip(preds, truth)):
        total += match_frame(p, t, n_cls, radius)
        p_cls = _rows(p)[:, 0].astype(int)
        t_cls = t[:, 0][t[:, 0] >= 0].astype(int)
        for k in range(n_cls):
            count_err[i, k] = abs(int(np.sum(p_cls == k)) - int(np.sum(t_cls == k)))
        count_err[i, n_cls] = abs(len(p_cls) - len(t_cls))
    per_class = {}
    for k, name in enumerate(object_classes):
        tp, fp, fn = (int(v) for v in total[k])
        per_class[name] = _prf(tp, fp, fn) | {"tp": tp, "fp": fp, "fn": fn, "support": tp + fn,
                                              "count_mae": float(count_err[:, k].mean()) if len(truth) else 0.0}
    tp, fp, fn = (int(v) for v in total.sum(axis=0))
    return _prf(tp, fp, fn) | {
        "count_mae": float(count_err[:, n_cls].mean()) if len(truth) else 0.0,
        "tp": tp, "fp": fp, "fn": fn, "objects": tp + fn, "detections": tp + fp, "frames": int(len(truth)),
        "radius_px": float(radius), "per_class": per_class}
