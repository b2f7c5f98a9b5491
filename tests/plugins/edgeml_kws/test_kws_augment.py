"""Training-time MFCC augmentation: seeded, shape-preserving, off when not configured."""

from __future__ import annotations

import numpy as np
from omegaconf import OmegaConf

from edgeml_kws.augment import augment, augment_settings, enabled

ALL = {"time_shift_frames": 5, "time_masks": 2, "time_mask_frames": 10, "freq_masks": 1,
       "freq_mask_coefficients": 2}


def _x(n=16, frames=97, coefs=10):
    return np.random.default_rng(3).standard_normal((n, frames, coefs, 1)).astype(np.float32)


def test_missing_or_zero_settings_turn_augmentation_off():
    assert not enabled(augment_settings(OmegaConf.create({"epochs": 1})))
    assert not enabled(augment_settings(OmegaConf.create({"augment": None})))
    assert augment_settings(OmegaConf.create({"augment": {"time_shift_frames": 5}}))["time_shift_frames"] == 5


def test_same_seed_same_batches_and_shape_kept():
    x = _x()
    a = augment(x, ALL, np.random.default_rng(0))
    b = augment(x, ALL, np.random.default_rng(0))
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, x)


def test_time_shift_moves_frames_and_repeats_the_edge():
    x = _x(n=64)
    out = augment(x, {**dict.fromkeys(ALL, 0), "time_shift_frames": 3}, np.random.default_rng(1))
    for i in range(len(x)):
        shifts = [s for s in range(-3, 4)
                  if np.array_equal(out[i], x[i, np.clip(np.arange(97) - s, 0, 96)])]
        assert shifts, i
