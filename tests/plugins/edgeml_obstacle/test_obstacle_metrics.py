"""The obstacle scores, the int8 decision threshold in the device header, the config checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import edgeml
from edgeml_obstacle.device import int8_threshold, outputs_header
from edgeml_obstacle.metrics import obstacle_metrics

ROOT = Path(__file__).resolve().parents[3]


def test_metrics_on_known_outputs():
    y = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]], np.float32)
    p = np.array([[0.9, 0.2, 0.8], [0.1, 0.6, 0.3], [0.7, 0.9, 0.4], [0.2, 0.8, 0.1]], np.float32)
    m = obstacle_metrics(y, p)
    assert m["collision_roc_auc"] == 1.0
    assert m["sector_accuracy"] == 7 / 8 and m["per_sector_accuracy"] == {"sector_0": 1.0, "sector_1": 0.75}
    assert m["collision"]["precision"] == 1.0 and m["collision"]["recall"] == 0.5
    assert m["sectors_scored"] is True


def test_real_data_without_sector_labels_is_not_scored_on_sectors():
    y = np.array([[np.nan, np.nan, 1], [np.nan, np.nan, 0]], np.float32)
    m = obstacle_metrics(y, np.array([[0.5, 0.5, 0.9], [0.5, 0.5, 0.2]], np.float32))
    assert m["sectors_scored"] is False and m["sector_accuracy"] is None and "not scored" in m["note"]
    assert m["collision_roc_auc"] == 1.0


def test_int8_threshold_matches_dequantized_decision():
    quant = edgeml.QuantParams(scale=1 / 256, zero_point=-128)
    q = int8_threshold(quant, 0.5)
    values = (np.arange(-128, 128) - quant.zero_point) * quant.scale
    assert q == int(np.arange(-128, 128)[values >= 0.5][0]) == 0


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs gcc and arm-none-eabi-gcc")
def test_decision_c_equals_the_dequantized_decision_on_host_and_target(tmp_path):
    """obstacle_outputs.h through obstacle_decide.c, built by the runners (host with ASan/UBSan, Cortex-M4
    emulator), on every int8 value and at a threshold no value reaches (128: never on)."""
    from edgeml.testing import stage_context
    from omegaconf import OmegaConf

    from edgeml_obstacle.device import decide_program, decide_source, python_decision

    classes = [f"sector_{i}" for i in range(5)] + ["collision"]
    model = edgeml.CompressedModel(format="tflite-int8", path="m", test_outputs=np.zeros((1, 6), np.int8),
                                   reference="r", output_quant=edgeml.QuantParams(1 / 256, -128))
    rng = np.random.default_rng(3)
    raw = np.concatenate([np.repeat(np.arange(-128, 128, dtype=np.int8)[:, None], 6, axis=1),
                          rng.integers(-128, 128, (40, 6)).astype(np.int8),
                          np.array([[0, -1, 5, -128, 127, 3]], np.int8)])
    config = OmegaConf.create({"target": OmegaConf.load(ROOT / "params" / "target" / "cortex-m4.yaml"),
                               "runners": {"use": ["host", "emulator"], "host": {"sanitize": True},
                                           "emulator": {"profile_examples": 1}}})
    for threshold in (0.5, 1.5):
        d = tmp_path / str(threshold) / "obstacle"
        d.mkdir(parents=True)
        (d / "obstacle_outputs.h").write_text(outputs_header(model, classes, threshold))
        (d / "obstacle_decide.c").write_text(decide_source())
        ctx = stage_context("export", config, tmp_path / str(threshold) / "build")
        runs = ctx.run_program(decide_program("obstacle", 6), raw, root=d.parent)
        want = python_decision(model, raw, threshold)
        assert set(runs.runs) == {"host", "emulator"}
        for name, run in runs.runs.items():
            assert np.array_equal(run.outputs, want), (threshold, name)
        assert want[-1].tolist() == ([0x15, 1] if threshold == 0.5 else [0, 0])
    assert int8_threshold(model.output_quant, 1.5) == 128


def test_bad_config_is_refused_at_composition(tmp_path):
    from edgeml.testing import compose_with

    with pytest.raises(edgeml.ConfigError, match="scene_kinds"):
        compose_with(["app=obstacle", "target=cortex-m4-lp", "+app.sense.scene_kinds.desert=1.0"])
    with pytest.raises(edgeml.ConfigError, match="resize"):
        compose_with(["app=obstacle", "target=cortex-m4-lp", "app.preprocess.resize=cubic"])
    with pytest.raises(edgeml.DataError, match="not a directory"):
        compose_with(["app=obstacle", "target=cortex-m4-lp", f"app.data_dir={tmp_path / 'missing'}"])


def test_the_decision_cut_is_the_best_on_validation_and_nearest_one_half_on_ties():
    from edgeml_obstacle.training import choose_threshold

    y = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]], np.float32)
    scores = np.array([[0.42, 0.1, 0.9], [0.2, 0.3, 0.1], [0.8, 0.45, 0.7], [0.1, 0.9, 0.2]], np.float32)
    cut = choose_threshold(y, scores)
    assert 0.30 < cut <= 0.42  # only a cut below 0.42 gets every sector right
    assert choose_threshold(y, np.where(y > 0.5, 0.9, 0.1).astype(np.float32)) == 0.5
