"""The espeak-ng generator: classes, levels, and byte-for-byte reproducibility."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeml import ConfigError
from edgeml.artifacts import tree_hashes
from edgeml_kws.raw_dataset import RawDataset

from kws_fixtures import TINY_SENSE, app, kws_config, stage_context  # noqa: F401 (fixture)


def _sense(app, build, *overrides, seed=0):
    ctx = stage_context(build, "sense", kws_config(*TINY_SENSE, *overrides, seed=seed))
    metrics = app.sense(ctx)
    return metrics, ctx.out_dir


def test_same_seed_gives_identical_bytes_even_after_other_synthesis(app, tmp_path):
    _, first = _sense(app, tmp_path / "a")
    _sense(app, tmp_path / "other", seed=7)  # the parent has synthesised something else since
    _, again = _sense(app, tmp_path / "b")
    assert tree_hashes(first) == tree_hashes(again)
    _, other = _sense(app, tmp_path / "c", seed=1)
    assert tree_hashes(other)["audio_train.npy"] != tree_hashes(first)["audio_train.npy"]


def test_every_class_in_every_split_with_audible_speech(app, tmp_path):
    metrics, out = _sense(app, tmp_path)
    data = RawDataset.load(out)
    assert data.classes == ["_silence_", "_unknown_", "go"]
    for split, n in (("train", 8), ("val", 3), ("test", 3)):
        assert data.audio[split].shape == (3 * n, 16000) and data.audio[split].dtype == np.int16
        assert np.bincount(data.labels[split], minlength=3).tolist() == [n, n, n]
        assert metrics[f"{split}.go"] == n
    x, y = data.audio["train"].astype(np.float64), data.labels["train"]
    peak = np.abs(x).max(axis=1)
    assert peak[y == 2].min() > 10 ** (-27 / 20) * 32768 * 0.9  # speech at its configured peak level or louder
    assert np.median(peak[y == 0]) < np.median(peak[y == 2])  # silence is quieter than speech
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["provenance"]["source"] == "synthetic" and meta["provenance"]["test_variants_held_out"]


def test_several_keywords_and_bad_config(app, tmp_path):
    metrics, _ = _sense(app, tmp_path / "two", "app.sense.keywords=[go,stop]",
                        "app.sense.synth.unknown_words=[yes,left]")
    assert metrics["train.stop"] == 8
    with pytest.raises(ConfigError, match="also listed as unknown"):
        _sense(app, tmp_path / "bad", "app.sense.keywords=[go,yes]")
