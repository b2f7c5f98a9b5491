"""The vibration app end to end through the real orchestrator: emlearn by default, exact, reproducible."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.io import savemat

import edgeml
from blobs_plugin import ROOT
from edgeml.artifacts import tree_hashes
from edgeml.testing import build, compose_with
from vibration_tiny import TINY_VIBRATION_OVERRIDES, app_config

STAGES = ("sense", "preprocess", "train", "compress", "export", "validate")


def test_plugin_registers_the_app_and_emlearn():
    bc = compose_with(["app=vibration", "target=cortex-m4"], root=ROOT)
    assert (bc.app.name, bc.backend.name, bc.compressor.name) == ("vibration", "emlearn", "sklearn-c")
    assert bc.app.task == "classification" and bc.app.model_kinds == ("sklearn",)
    assert bc.app.primary_metric == "accuracy"


def test_bad_config_is_refused_at_composition(tmp_path):
    base = ["app=vibration", f"build_dir={tmp_path / 'b'}"]
    with pytest.raises(edgeml.ConfigError, match="app.sense.sample_rate=8000 but the feature spec takes "
                                                 "app.preprocess.sample_rate=12000"):
        compose_with(base + ["app.sense.sample_rate=8000", "app.sense.synth.resonance_hz=[1000,3000]"], root=ROOT)
    with pytest.raises(edgeml.ConfigError, match=r"envelope_band_hz=\[2000.0, 7000.0\] must lie inside"):
        compose_with(base + ["app.preprocess.envelope_band_hz=[2000,7000]"], root=ROOT)
    with pytest.raises(edgeml.ConfigError, match="app.train.estimator=boosting"):
        compose_with(base + ["app.train.estimator=boosting"], root=ROOT)
    with pytest.raises(edgeml.DataError, match="is not a directory"):
        compose_with(base + [f"app.data_dir={tmp_path / 'nope'}"], root=ROOT)
    assert not (tmp_path / "b").exists()


@pytest.mark.slow
def test_tiny_build_passes_is_exact_and_rebuilds_byte_identical(tmp_path):
    runs = []
    for name in ("a", "b"):
        _, report = build(["app=vibration", "target=cortex-m4", f"build_dir={tmp_path / name}",
                           *TINY_VIBRATION_OVERRIDES], root=ROOT)
        runs.append(tmp_path / name)
    a, b = runs
    report = json.loads((a / "report.json").read_text())
    assert report["passed"] and report["fits"], report["checks"]
    assert (report["backend"], report["compressor"]) == ("emlearn", "sklearn-c")
    assert report["parity"] | {"bit_exact": True, "mismatches": 0, "compared": 80} == report["parity"]
    assert report["accuracy"]["device"] == report["accuracy"]["int8"] > 0.5
    assert set(report["metrics"]["device"]["per_class"]) == {"normal", "outer_race", "inner_race", "ball"}
    assert any(c["name"] == "parity.sklearn" for c in report["checks"])
    assert report["memory"]["ram_bytes"] <= report["memory"]["ram_budget_bytes"]
    assert "feature extractor" in report["memory"]["flash_method"] and report["latency"]["macs"] > 100000
    deliverable = json.loads((a / "export" / "deliverable.json").read_text())
    assert {"vibration/vibration_features.c", "vibration/vibration_features.h",
            "emlearn/edgeml_model_emlearn.h"} <= set(deliverable["files"])
    parity = json.loads((a / "export" / "vibration" / "feature_parity.json").read_text())
    assert parity | {"checked": True, "frames": 80, "frames_differing": 0, "max_abs_diff": 0.0} == parity
    spec = json.loads((a / "preprocess" / "feature_spec.json").read_text())["spec"]
    assert spec["n_features"] == 31 and spec["names"][-1] == "env_bpfi_sb_hi"
    model = json.loads((a / "train" / "model.json").read_text())
    assert model["info"]["flash_sizing"]["trees_c_bytes"] <= model["info"]["flash_sizing"]["trees_budget_bytes"]
    for stage in STAGES:
        assert tree_hashes(a / stage) == tree_hashes(b / stage), stage


@pytest.mark.slow
def test_forest_shrinks_to_a_small_flash_budget(tmp_path):
    """A target with little flash: trees and depth come down until the C fits, and the choice is recorded."""
    _, report = build(["app=vibration", "target=cortex-m0plus", f"build_dir={tmp_path / 'm0'}",
                       "target.flash_bytes=34000", *TINY_VIBRATION_OVERRIDES,
                       "app.train.n_estimators=12", "app.train.max_depth=8"], root=ROOT)
    assert report["passed"], report["checks"]
    info = json.loads((tmp_path / "m0" / "train" / "model.json").read_text())["info"]
    tried = info["flash_sizing"]["candidates_tried"]
    assert len(tried) > 1 and not tried[0]["fits"] and tried[-1]["fits"]
    assert (info["n_estimators"], info["max_depth"]) != (12, 8)
    deliverable = json.loads((tmp_path / "m0" / "export" / "deliverable.json").read_text())
    app_code = deliverable["info"]["parts"]["app_code"]
    assert "soft-float" in app_code["info"]["features_on_this_target"]
    # Both parts measured from their linked images for the M0+ (validate replaces export's host estimate).
    parts = report["memory"]["parts"]
    assert "linked image" in parts["model"]["flash_method"] and "linked image" in app_code["flash_bytes"]["method"]
    assert report["memory"]["flash_bytes"] == parts["model"]["flash_bytes"] + app_code["flash_bytes"]["value"]
    assert report["latency"]["method"] == "emulated" and report["latency"]["parts"]["app_code"]["measured"]


@pytest.mark.slow
def test_cwru_folder_builds_through_the_cli(tmp_path):
    """CWRU-layout .mat files (written here from the generator's signals) through `edgeml run`."""
    import subprocess
    import sys

    from edgeml_vibration.generator import BearingSignalGenerator

    cfg = app_config(**{"sense.frame_samples": 4096 * 12, "sense.synth.snr_db": [0, 3]})
    gen = BearingSignalGenerator(cfg.sense, seed=0)
    rng = np.random.default_rng(0)
    for label, folder in enumerate(("Normal", "OR", "IR", "B")):
        for k in range(2):
            x, shaft = gen.frame(label, rng)
            n = 100 + 10 * label + k
            (tmp_path / "cwru" / folder).mkdir(parents=True, exist_ok=True)
            savemat(str(tmp_path / "cwru" / folder / f"{n}.mat"),
                    {f"X{n:03d}_DE_time": x.reshape(-1, 1).astype(np.float64), f"X{n:03d}RPM": [[shaft * 60]]})
    cmd = [sys.executable, "-m", "edgeml.cli", "run", "app=vibration", "target=cortex-m4", "--no-progress",
           f"app.data_dir={tmp_path / 'cwru'}", f"build_dir={tmp_path / 'b'}", "tracking.enabled=false",
           "app.train.n_estimators=6", "app.train.max_depth=5", "validate.max_int8_drop=0.2"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["classes"] == ["normal", "outer_race", "inner_race", "ball"]
    assert report["parity"]["bit_exact"] and report["parity"]["compared"] == 4 * 2 * 2
    raw = json.loads((tmp_path / "b" / "sense" / "raw.json").read_text())
    assert len(raw["provenance"]["files"]) == 8
