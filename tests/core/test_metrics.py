"""edgeml.metrics: the scoring helpers every app shares, checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from edgeml import metrics


def test_classification_matches_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    scores = rng.normal(size=(300, 4)) + np.eye(4)[y] * 1.2
    m = metrics.classification(y, scores, ["a", "b", "c", "d"])
    pred = scores.argmax(1)
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(sk.f1_score(y, pred, average="macro"))
    assert m["confusion"] == sk.confusion_matrix(y, pred, labels=range(4)).tolist()
    prec = sk.precision_score(y, pred, average=None)
    rec = sk.recall_score(y, pred, average=None)
    for i, name in enumerate("abcd"):
        assert m["per_class"][name]["precision"] == pytest.approx(prec[i])
        assert m["per_class"][name]["recall"] == pytest.approx(rec[i])
        assert m["per_class"][name]["support"] == int((y == i).sum())


def test_a_class_never_seen_nor_predicted_does_not_drag_macro_f1():
    y = np.array([0, 0, 1, 1])
    scores = np.eye(3)[[0, 0, 1, 1]]
    m = metrics.classification(y, scores, ["x", "y", "z"])
    assert m["macro_f1"] == 1.0
    assert m["per_class"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_roc_auc_matches_scikit_learn_with_ties():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    score = np.round(rng.normal(size=500) + y, 1)  # rounding makes many ties
    assert metrics.roc_auc(y, score) == pytest.approx(sk.roc_auc_score(y, score))
    assert metrics.roc_auc(np.ones(5), np.arange(5)) is None


def test_binary_counts_and_rates():
    b = metrics.binary([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    assert (b["tp"], b["fp"], b["fn"], b["tn"]) == (2, 1, 1, 1)
    assert b["precision"] == pytest.approx(2 / 3) and b["recall"] == pytest.approx(2 / 3)
    assert b["specificity"] == pytest.approx(0.5)


def test_flatten_keeps_numbers_and_skips_lists():
    flat = metrics.flatten({"f1": 0.5, "per_class": {"go": {"recall": 1}}, "confusion": [[1]], "ok": True,
                            "name": "x", "missing": None})
    assert flat == {"f1": 0.5, "per_class.go.recall": 1.0, "ok": 1.0}
