"""Which training examples calibrate the INT8 ranges: a seeded, reproducible choice."""

from __future__ import annotations

import numpy as np

import edgeml


def calibration_indices(n_train: int, samples: int, seed: int) -> np.ndarray:
    """``samples`` distinct indices into the training split (all of it if smaller), sorted.

    The same ``(n_train, samples, seed)`` always gives the same indices, so
    the quantization ranges, and the ``.tflite`` bytes, are reproducible.
    """
    if n_train == 0:
        raise edgeml.DataError("the training split is empty, so INT8 calibration has no data: "
                               "check the app's sense/preprocess stages")
    if samples <= 0:
        raise edgeml.ConfigError(f"compress.representative_samples={samples} must be positive: set it to about 100-500")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_train, size=min(samples, n_train), replace=False))
