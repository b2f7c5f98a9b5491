"""The obstacle scores, the int8 decision threshold in the device header, the config checks."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import edgeml
from edgeml_obstacle.device import int8_threshold, outputs_header
from edgeml_obstacle.metrics import obstacle_metrics


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


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_outputs_header_compiles(tmp_path):
    model = edgeml.CompressedModel(format="tflite-int8", path="m", test_outputs=np.zeros((1, 6), np.int8),
                                   reference="r", output_quant=edgeml.QuantParams(1 / 256, -128))
    (tmp_path / "obstacle_outputs.h").write_text(outputs_header(model, [f"sector_{i}" for i in range(5)] + ["collision"], 0.5))
    (tmp_path / "main.c").write_text('#include "obstacle_outputs.h"\nint main(void){int8_t o[6]={0,-1,5,-128,127,3};'
                                     'return (int)obstacle_blocked_mask(o) == 0x15 && obstacle_collision(o) ? 0 : 1;}\n')
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-o", str(tmp_path / "a"), str(tmp_path / "main.c")],
                   check=True)
    assert subprocess.run([str(tmp_path / "a")]).returncode == 0


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
