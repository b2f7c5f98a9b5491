"""Scores of the obstacle head: collision ROC AUC, sector accuracy, precision/recall at 0.5.

``y`` is (n, sectors + 1) float: blocked per sector, then the collision
flag; NaN marks an unknown label (real collision data has no sector labels,
and then ``sectors_scored`` is False and no sector figure is given).
``scores`` are probabilities of the same shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeml import metrics as em

THRESHOLD = 0.5


def obstacle_metrics(y: np.ndarray, scores: np.ndarray, threshold: float = THRESHOLD) -> dict[str, Any]:
    y = np.asarray(y, dtype=np.float32)
    s = np.asarray(scores, dtype=np.float32).reshape(len(y), -1)
    if s.shape != y.shape:
        raise ValueError(f"obstacle outputs have shape {s.shape}, labels {y.shape}: the model must give "
                         "one probability per sector and one for collision")
    col_known = np.isfinite(y[:, -1])
    col_true, col_score = y[col_known, -1] > 0.5, s[col_known, -1]
    auc = em.roc_auc(col_true, col_score)
    col = em.binary(col_true, col_score >= threshold)
    out: dict[str, Any] = {
        "collision_roc_auc": float(auc) if auc is not None else 0.0,
        "collision_accuracy": float(np.mean(col_true == (col_score >= threshold))) if col_known.any() else 0.0,
        "collision": {"precision": col["precision"], "recall": col["recall"], "f1": col["f1"],
                      "tp": col["tp"], "fp": col["fp"], "fn": col["fn"], "tn": col["tn"],
                      "positives": int(col_true.sum()), "scored": int(col_known.sum())},
        "threshold": threshold,
    }
    sec_y, sec_s = y[:, :-1], s[:, :-1]
    known = np.isfinite(sec_y)
    out["sectors_scored"] = bool(known.any())
    if known.any():
        correct = (sec_y > 0.5) == (sec_s >= threshold)
        per = {}
        for i in range(sec_y.shape[1]):
            k = known[:, i]
            per[f"sector_{i}"] = float(correct[k, i].mean()) if k.any() else None
        out["sector_accuracy"] = float(correct[known].mean())
        full_rows = known.all(axis=1)
        out["sector_exact_match"] = float(correct[full_rows].all(axis=1).mean()) if full_rows.any() else None
        out["per_sector_accuracy"] = per
        sec = em.binary(sec_y[known] > 0.5, sec_s[known] >= threshold)
        out["blocked"] = {"precision": sec["precision"], "recall": sec["recall"], "f1": sec["f1"]}
        out["selection_score"] = 0.5 * (out["collision_roc_auc"] + out["sector_accuracy"])
    else:
        out["sector_accuracy"] = None
        out["note"] = "the data has no sector labels (collision flag only): sectors are not scored"
        out["selection_score"] = out["collision_roc_auc"]
    return out
