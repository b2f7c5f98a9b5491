"""The obstacle app end to end on tiny data: generated scenes, and a DroNet-layout folder."""

from __future__ import annotations

import json

import pytest

from edgeml.artifacts import tree_hashes
from edgeml.testing import build
from obstacle_tiny import TINY_OBSTACLE_OVERRIDES, write_collision_folder


def test_sense_and_preprocess_are_byte_identical(tmp_path):
    for name in ("a", "b"):
        build([*TINY_OBSTACLE_OVERRIDES, f"build_dir={tmp_path / name}"], stages=["sense", "preprocess"])
    for stage in ("sense", "preprocess"):
        assert tree_hashes(tmp_path / "a" / stage) == tree_hashes(tmp_path / "b" / stage), stage


@pytest.mark.slow
def test_generated_build_reports_metrics_power_figure_and_frame_c(tmp_path):
    _, report = build([*TINY_OBSTACLE_OVERRIDES, f"build_dir={tmp_path}"])
    assert report["fits"]
    metrics = report["metrics"]
    assert metrics["primary"] == "collision_roc_auc"
    for level in ("float", "int8", "device"):
        assert metrics[level]["sectors_scored"] is True
        assert set(metrics[level]["per_sector_accuracy"]) == {f"sector_{i}" for i in range(5)}
        assert 0.0 <= metrics[level]["collision_roc_auc"] <= 1.0
    assert report["parity"]["bit_exact"]
    assert report["power"]["rate_hz"] == 10 and report["power"]["average_mw"] < 30
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["budget.latency"]["passed"] and checks["budget.power"]["passed"]
    assert report["figures"] == ["validate/obstacle_test_frames.png"]
    assert (tmp_path / "validate" / "obstacle_test_frames.png").read_bytes()[:4] == b"\x89PNG"
    deliverable = json.loads((tmp_path / "export" / "deliverable.json").read_text())
    assert {"obstacle/obstacle_frame.c", "obstacle/obstacle_frame.h", "obstacle/obstacle_frame_camera.c",
            "obstacle/obstacle_outputs.h", "obstacle/obstacle_decide.c"} <= set(deliverable["files"])
    # The frame conversion (every raw test frame) and the decision (every int8 test output), run by the host
    # and the Cortex-M4 emulator, equal Python bit for bit; their emulated cycles are the app code's latency.
    parity = json.loads((tmp_path / "export" / "obstacle" / "device_parity.json").read_text())
    assert parity["bit_exact"] and parity["frame"]["frames"] == 48 and parity["decision"]["outputs"] == 48
    assert parity["frame"]["camera"] == [40, 48] and set(parity["frame"]["runners"]) == {"host", "emulator"}
    app = report["latency"]["parts"]["app_code"]
    assert app["measured"] and app["cycles"] > app["instructions"] > 1000
    assert report["latency"]["cycles"] == pytest.approx(app["cycles"] + report["latency"]["parts"]["model"]["cycles"])
    code = report["memory"]["parts"]["app_code"]
    assert "export/firmware/frame/emulator/frame.elf" in code["flash_bytes"]["method"]
    assert report["memory"]["ram_bytes"] == report["memory"]["parts"]["model"]["ram_bytes"] + code["ram_bytes"]["value"]


@pytest.mark.slow
def test_collision_folder_builds_and_says_sectors_are_not_scored(tmp_path):
    data = write_collision_folder(tmp_path / "data", {f"seq{i}": [0, 1, 1, 0, 1, 0, 0, 1] for i in range(6)},
                                  size=(60, 45))
    _, report = build([*TINY_OBSTACLE_OVERRIDES, f"build_dir={tmp_path / 'build'}", f"app.data_dir={data}",
                       "app.train.epochs=1"])
    device = report["metrics"]["device"]
    assert device["sectors_scored"] is False and device["sector_accuracy"] is None
    assert "not scored" in device["note"]
    assert device["collision"]["scored"] == len(json.loads(
        (tmp_path / "build" / "sense" / "dataset.json").read_text())["provenance"]["sequences"]["test"]) * 8
