"""Artifacts on disk: typed round trips, deterministic bytes, errors that name the file."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml
from edgeml.artifacts import FeatureSet, tree_hashes


def _features(seed=0):
    rng = np.random.default_rng(seed)
    x = {s: rng.normal(size=(n, 4, 2, 1)).astype(np.float32) for s, n in (("train", 6), ("val", 2), ("test", 3))}
    y = {s: rng.integers(0, 2, len(x[s])) for s in x}
    return FeatureSet(x=x, y=y, classes=["a", "b"], spec={"hop": 160})


def test_featureset_round_trip_and_stable_bytes(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    _features().save(tmp_path / "1")
    _features().save(tmp_path / "2")
    assert tree_hashes(tmp_path / "1") == tree_hashes(tmp_path / "2")
    back = FeatureSet.load(tmp_path / "1")
    assert back.classes == ["a", "b"] and back.spec == {"hop": 160} and back.input_shape == (4, 2, 1)
    np.testing.assert_array_equal(back.x["test"], _features().x["test"])


def test_missing_split_and_corrupt_file_are_named(tmp_path):
    fs = _features()
    del fs.x["val"]
    with pytest.raises(edgeml.DataError, match="lacks the 'val' split"):
        fs.save(tmp_path)
    _features().save(tmp_path)
    (tmp_path / "x_test.npy").write_bytes(b"not numpy")
    with pytest.raises(edgeml.DataError, match=r"x_test.npy is corrupt .* re-run its stage"):
        FeatureSet.load(tmp_path)


def test_quantize_rounds_half_away_from_zero_and_saturates():
    q = edgeml.QuantParams(scale=0.5, zero_point=-3)
    x = np.array([0.25, -0.25, 0.75, -0.75, 0.2, 1000.0, -1000.0], dtype=np.float32)
    np.testing.assert_array_equal(q.quantize(x), [1 - 3, -1 - 3, 2 - 3, -2 - 3, 0 - 3, 127, -128])
    with pytest.raises(edgeml.DataError, match="NaN or inf"):
        q.quantize(np.array([np.nan]))
