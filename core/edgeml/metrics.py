"""Scoring helpers for apps, and parity between runtimes.

Apps score their own outputs in :meth:`edgeml.App.evaluate` (the same way at
every level: float, intermediate models, int8, device); these functions are
the shared building blocks, in numpy only, so every app reports the same
figures the same way.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from edgeml.errors import ConfigError


def classification(y_true: np.ndarray, scores: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Single-label metrics of ``scores`` (one row of class scores per example).

    Returns ``accuracy``, ``macro_f1`` (over classes present in ``y_true`` or
    predicted), ``per_class`` (``precision``, ``recall``, ``f1``, ``support``
    per class name) and ``confusion`` (rows true, columns predicted, in the
    order of ``classes``).
    """
    y_true = np.asarray(y_true).astype(np.int64).reshape(-1)
    scores = np.asarray(scores)
    if scores.ndim != 2 or len(scores) != len(y_true):
        raise ConfigError(f"classification outputs must be (n, classes) for n={len(y_true)}, got {scores.shape}: "
                          "return one score per class from the model, or override App.evaluate")
    n_cls = max(len(classes), scores.shape[1])
    pred = scores.argmax(axis=1)
    confusion = np.zeros((n_cls, n_cls), dtype=np.int64)
    np.add.at(confusion, (y_true, pred), 1)
    per_class, f1s = {}, []
    for i in range(n_cls):
        name = classes[i] if i < len(classes) else str(i)
        tp, support, predicted = confusion[i, i], confusion[i].sum(), confusion[:, i].sum()
        prec = float(tp / predicted) if predicted else 0.0
        rec = float(tp / support) if support else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[name] = {"precision": prec, "recall": rec, "f1": float(f1), "support": int(support)}
        if support or predicted:
            f1s.append(f1)
    return {"accuracy": float((pred == y_true).mean()) if len(y_true) else 0.0,
            "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
            "per_class": per_class, "confusion": confusion.tolist(), "classes": list(classes)}


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve of ``score`` for the positive examples of ``y_true``.

    Rank-based (Mann-Whitney U) with tied scores given their average rank, so
    it equals scikit-learn's ``roc_auc_score``. ``None`` when one class is absent.
    """
    y = np.asarray(y_true).astype(bool).reshape(-1)
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    # Average rank (1-based) over each run of equal scores.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], len(s)]
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = (a + b + 1) / 2.0
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def binary(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | int]:
    """Counts and rates of a yes/no decision: precision, recall (sensitivity), specificity, f1."""
    t = np.asarray(y_true).astype(bool).reshape(-1)
    p = np.asarray(y_pred).astype(bool).reshape(-1)
    tp, fp = int((t & p).sum()), int((~t & p).sum())
    fn, tn = int((t & ~p).sum()), int((~t & ~p).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": prec, "recall": rec, "specificity": tn / (tn + fp) if tn + fp else 0.0,
            "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numbers of a nested metrics dict as ``{"per_class.go.recall": 0.9, ...}`` (lists and text skipped)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif isinstance(value, (bool, np.bool_)):
            out[name] = float(value)
        elif isinstance(value, (int, float, np.integer, np.floating)) and value is not None:
            out[name] = float(value)
    return out


def parity(reference: np.ndarray, device: np.ndarray) -> dict[str, float | int | bool]:
    """Compare two runtimes' raw outputs exactly: per-example mismatches, largest difference, argmax flips."""
    reference, device = np.asarray(reference), np.asarray(device)
    if reference.shape != device.shape:
        return {"bit_exact": False, "mismatches": int(len(reference)), "max_abs_diff": float("inf"),
                "argmax_disagreements": int(len(reference)), "compared": int(len(reference)),
                "shape_error": f"reference {reference.shape} vs device {device.shape}"}
    diff = np.abs(reference.astype(np.float64) - device.astype(np.float64)).reshape(len(reference), -1)
    rows = diff.max(axis=1) if diff.size else np.zeros(len(reference))
    mism = int((rows > 0).sum())
    flips = int((reference.reshape(len(reference), -1).argmax(1) != device.reshape(len(device), -1).argmax(1)).sum()) \
        if reference.size else 0
    return {"bit_exact": mism == 0, "mismatches": mism, "max_abs_diff": float(rows.max()) if rows.size else 0.0,
            "argmax_disagreements": flips, "compared": int(len(reference))}
