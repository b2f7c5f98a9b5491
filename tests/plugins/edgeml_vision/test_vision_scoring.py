"""Centroid matching: radius, class, one detection per object, score order, count error."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml_vision.scoring import detection_metrics, match_frame

TRUTH = np.array([[0, 10, 10], [0, 30, 10], [1, 50, 50], [-1, 0, 0]], np.float32)


def test_a_detection_matches_within_the_radius_and_of_its_class_only():
    pred = np.array([[0, 13, 14, 0.9, 1],     # 5 px from (10, 10): hit
                     [1, 30, 10, 0.9, 1],     # right place, wrong class: false positive
                     [1, 50, 58.5, 0.8, 1]])  # 8.5 px away: miss
    counts = match_frame(pred, TRUTH, 2, radius=8.0)
    assert counts.tolist() == [[1, 0, 1], [0, 2, 1]]


def test_two_detections_cannot_share_one_object_and_the_higher_score_takes_it():
    pred = np.array([[0, 11, 10, 0.6, 1], [0, 10, 10, 0.9, 1]])
    counts = match_frame(pred, TRUTH[:1], 1, radius=8.0)
    assert counts.tolist() == [[1, 1, 0]]


def test_metrics_per_class_and_count_error():
    truth = np.stack([TRUTH, TRUTH])
    preds = [np.array([[0, 10, 10, 0.9, 1], [0, 30, 11, 0.8, 1], [1, 50, 50, 0.7, 2]]),
             np.zeros((0, 5))]
    m = detection_metrics(preds, truth, ["person", "vehicle"], radius=8.0)
    assert (m["tp"], m["fp"], m["fn"]) == (3, 0, 3)
    assert m["precision"] == 1.0 and m["recall"] == 0.5 and m["f1"] == pytest.approx(2 / 3)
    assert m["count_mae"] == 1.5  # |3 - 3| and |0 - 3|
    assert m["per_class"]["person"] == m["per_class"]["person"] | {"precision": 1.0, "recall": 0.5, "support": 4}
    assert m["per_class"]["vehicle"]["count_mae"] == 0.5
