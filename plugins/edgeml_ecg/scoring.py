"""How the ECG app scores a level: AAMI per-class figures, the anomaly score, the alarm."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeml import metrics


def anomaly_score(outputs: np.ndarray, classes: list[str]) -> np.ndarray:
    """1 - P(N): the "something is wrong" score (all ones when N is not a class)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    return 1.0 - outputs[:, classes.index("N")] if "N" in classes else np.ones(len(outputs))


def alarm_threshold(y: np.ndarray, outputs: np.ndarray, classes: list[str], sensitivity: float) -> float:
    """The largest threshold whose alarm (score >= threshold) catches ``sensitivity`` of abnormal beats."""
    score = anomaly_score(outputs, classes)
    abnormal = np.sort(score[_abnormal(y, classes)])[::-1]
    if not len(abnormal):
        return 0.5
    k = int(np.ceil(sensitivity * len(abnormal)))
    return float(abnormal[min(max(k, 1), len(abnormal)) - 1])


def _abnormal(y: np.ndarray, classes: list[str]) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    return y != classes.index("N") if "N" in classes else np.ones(len(y), dtype=bool)


def evaluate(y: np.ndarray, outputs: np.ndarray, classes: list[str], threshold: float) -> dict[str, Any]:
    base = metrics.classification(y, outputs, classes)
    per_class = {name: {"sensitivity": d["recall"], "ppv": d["precision"], "f1": d["f1"], "support": d["support"]}
                 for name, d in base["per_class"].items()}
    abnormal = _abnormal(y, classes)
    score = anomaly_score(outputs, classes)
    alarm = metrics.binary(abnormal, score >= threshold)
    return {
        "macro_f1": base["macro_f1"], "accuracy": base["accuracy"],
        "roc_auc": metrics.roc_auc(abnormal, score),
        "per_class": per_class, "confusion": base["confusion"], "classes": list(classes),
        "alarm": {"threshold": float(threshold), "sensitivity": alarm["recall"],
                  "specificity": alarm["specificity"], "ppv": alarm["precision"]},
    }
