"""The kws app's metrics: the keyword's precision and recall, and false accepts per hour."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

import edgeml
from edgeml_kws.app import KwsApp


def _ev(y, pred, n_classes=3):
    features = edgeml.FeatureSet(x={s: np.zeros((len(y), 1), np.float32) for s in ("train", "val", "test")},
                                 y={s: np.asarray(y) for s in ("train", "val", "test")},
                                 classes=["_silence_", "_unknown_", "go"][:n_classes],
                                 spec={"clip_samples": 16000, "sample_rate": 16000})
    outputs = np.eye(n_classes, dtype=np.float32)[pred]
    trained = edgeml.TrainedModel(kind="keras", path="m", test_outputs=outputs)
    return edgeml.Evaluation(level="int8", outputs=outputs, features=features, trained=trained,
                             config=OmegaConf.create({}))


def test_false_accepts_per_hour_count_background_clips_taken_for_the_keyword():
    # 3600 one-second background clips (one hour), 2 of them taken for "go"; 10 "go" clips, 9 found.
    y = np.r_[np.zeros(1800, int), np.ones(1800, int), np.full(10, 2)]
    pred = y.copy()
    pred[[5, 2000]] = 2
    pred[-1] = 1
    m = KwsApp().evaluate(_ev(y, pred))
    go = m["keywords"]["go"]
    assert go["false_accepts"] == 2 and go["background_hours"] == pytest.approx(1.0)
    assert go["false_accepts_per_hour"] == pytest.approx(2.0)
    assert go["recall"] == pytest.approx(0.9) and go["precision"] == pytest.approx(9 / 11)
    assert m["accuracy"] == pytest.approx((3610 - 3) / 3610)


def test_a_detector_that_never_fires_scores_high_accuracy_and_zero_keyword_recall():
    y = np.r_[np.ones(990, int), np.full(10, 2)]
    m = KwsApp().evaluate(_ev(y, np.ones(1000, int)))
    assert m["accuracy"] == pytest.approx(0.99)
    assert m["keywords"]["go"]["recall"] == 0.0 and m["keywords"]["go"]["false_accepts_per_hour"] == 0.0
