"""Scoring model outputs by task, the same way at every step (float, int8, device)."""

from __future__ import annotations

import numpy as np

from edgeml.errors import ConfigError


def score(task: str, y_true: np.ndarray, outputs: np.ndarray, classes: list[str]) -> dict[str, float]:
    """Metrics of ``outputs`` (scores, one row per example) against ``y_true``.

    Classification: ``accuracy`` (the primary metric) and ``recall.<class>``.
    """
    y_true = np.asarray(y_true)
    outputs = np.asarray(outputs)
    if task == "classification":
        if outputs.ndim != 2 or len(outputs) != len(y_true):
            raise ConfigError(f"classification outputs must be (n, classes) for n={len(y_true)}, got {outputs.shape}: "
                              "return one score per class from the model")
        pred = outputs.argmax(axis=1)
        out = {"accuracy": float((pred == y_true).mean()) if len(y_true) else 0.0}
        for i, name in enumerate(classes):
            mask = y_true == i
            if mask.any():
                out[f"recall.{name}"] = float((pred[mask] == i).mean())
        return out
    raise ConfigError(f"task '{task}' has no scoring in this edgeml version: use 'classification'")


def primary(task: str) -> str:
    """Name of the task's primary metric."""
    return {"classification": "accuracy"}.get(task, "accuracy")


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
