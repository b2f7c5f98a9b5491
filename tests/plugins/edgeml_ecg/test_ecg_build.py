"""The ecg app end to end through the real orchestrator, on a tiny config (torch -> ONNX -> INT8 -> TFLM)."""

from __future__ import annotations

import pytest

from ecg_tiny import TINY_ECG_OVERRIDES
from edgeml.artifacts import tree_hashes
from edgeml.testing import build

pytestmark = pytest.mark.slow


def test_tiny_ecg_build_reports_every_level_and_is_bit_exact(tmp_path):
    overrides = ["app=ecg", "target=cortex-m4", *TINY_ECG_OVERRIDES]
    _, report = build([*overrides, f"build_dir={tmp_path / 'a'}"])
    assert report["passed"] and report["fits"] and report["primary_metric"] == "macro_f1"
    assert report["parity"]["bit_exact"] and report["parity"]["compared"] > 100
    metrics = report["metrics"]
    assert metrics["primary"] == "macro_f1"
    assert {"float", "onnx", "int8", "device"} <= set(metrics)
    for level in ("float", "onnx", "int8", "device"):
        m = metrics[level]
        assert 0 <= m["macro_f1"] <= 1 and m["roc_auc"] is not None
        assert m["classes"][0] == "N" and set(m["per_class"]) == set(m["classes"])
        assert {"sensitivity", "ppv", "f1", "support"} <= set(m["per_class"]["N"])
        assert len(m["confusion"]) == len(m["classes"])
        assert {"threshold", "sensitivity", "specificity"} <= set(m["alarm"])
    assert metrics["onnx"]["macro_f1"] == pytest.approx(metrics["float"]["macro_f1"], abs=1e-6)
    # The test records cut at the QRS detector's peaks: detector quality at every level, the classifier's
    # figures on those beats at the float level (the torch model, run by train).
    for level in ("float", "onnx", "int8", "device"):
        det = metrics[level]["detected_peaks"]["qrs_detector"]
        assert det["sensitivity"] >= 0.95 and det["ppv"] >= 0.95 and det["tp"] > 100
    dp = metrics["float"]["detected_peaks"]
    assert 0 <= dp["macro_f1"] <= 1 and dp["roc_auc"] is not None
    assert set(dp["per_class"]) == set(metrics["float"]["classes"]) and "sensitivity" in dp["per_class"]["N"]
    assert dp["beats"]["matched"] > 100 and len(dp["confusion"]) == len(metrics["float"]["classes"]) + 1
    assert "macro_f1" not in metrics["int8"]["detected_peaks"]
    a = tmp_path / "a"
    assert (a / "compress" / "model.onnx").is_file() and (a / "train" / "model.pt2").is_file()
    assert (a / "preprocess" / "detected_x_test.npy").is_file() and (a / "train" / "detected_test_outputs.npy").is_file()
    assert {"ecg/ecg_features.h", "ecg/ecg_features.c"} <= set(
        __import__("json").loads((a / "export" / "deliverable.json").read_text())["files"])

    # Same config and seed: the generated records, features and torch weights are byte-identical.
    build([*overrides, f"build_dir={tmp_path / 'b'}"], stages=["sense", "preprocess", "train"])
    for stage in ("sense", "preprocess", "train"):
        assert tree_hashes(a / stage) == tree_hashes(tmp_path / "b" / stage), stage
