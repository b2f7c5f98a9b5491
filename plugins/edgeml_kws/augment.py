"""Training-time augmentation of normalised MFCC "images", in NumPy with a seeded RNG.

Each epoch the train stage draws a fresh augmented copy of the training
features from one ``numpy.random.Generator`` seeded by the build seed, so the
same features, config and seed give the same batches and the same weights.
Nothing here reaches the device: the exported model sees plain features.

- time shift: move the clip by up to ``time_shift_frames`` frames (10 ms each)
  either way, repeating the edge frame (the word lands earlier or later, the
  background stays);
- SpecAugment-style masks (Park et al., 2019): ``time_masks`` bands of up to
  ``time_mask_frames`` frames and ``freq_masks`` bands of up to
  ``freq_mask_coefficients`` coefficients set to 0, the train-split mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

KEYS = ("time_shift_frames", "time_masks", "time_mask_frames", "freq_masks", "freq_mask_coefficients")


def augment_settings(cfg: Any) -> dict[str, int]:
    """``app.train.augment`` as ints (missing keys and a null block mean no augmentation)."""
    aug = cfg.get("augment") or {}
    return {k: int(aug.get(k) or 0) for k in KEYS}


def enabled(settings: dict[str, int]) -> bool:
    return any(settings.values())


def _bands(rng: np.random.Generator, n: int, length: int, count: int, width: int) -> np.ndarray:
    """(n, length) bool: ``count`` bands of 0..width positions per row."""
    mask = np.zeros((n, length), bool)
    pos = np.arange(length)
    for _ in range(count):
        w = rng.integers(0, width + 1, size=n)
        start = rng.integers(0, np.maximum(length - w, 0) + 1)
        mask |= (pos >= start[:, None]) & (pos < (start + w)[:, None])
    return mask


def augment(x: np.ndarray, settings: dict[str, int], rng: np.random.Generator) -> np.ndarray:
    """An augmented copy of ``x`` (n, frames, coefficients, 1) float32."""
    n, frames, coefs = x.shape[:3]
    out = x
    shift = settings["time_shift_frames"]
    if shift:
        s = rng.integers(-shift, shift + 1, size=n)
        idx = np.clip(np.arange(frames)[None, :] - s[:, None], 0, frames - 1)
        out = np.take_along_axis(out, idx[:, :, None, None], axis=1)
    if settings["time_masks"] and settings["time_mask_frames"]:
        m = _bands(rng, n, frames, settings["time_masks"], settings["time_mask_frames"])
        out = np.where(m[:, :, None, None], np.float32(0), out)
    if settings["freq_masks"] and settings["freq_mask_coefficients"]:
        m = _bands(rng, n, coefs, settings["freq_masks"], settings["freq_mask_coefficients"])
        out = np.where(m[:, None, :, None], np.float32(0), out)
    return np.ascontiguousarray(out, dtype=np.float32)
