"""A third-party plugin package, pip-installed in the test env, is found and runs end to end.

tests/plugin_package ships an app, a target profile (config group from its
own package), an observer and a validate check; `edgeml run` builds it
through the built-in tflite-int8 compressor and TFLM backend.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from blobs_plugin import ROOT

pytestmark = pytest.mark.slow


def test_entry_point_discovery_makes_the_app_runnable(tmp_path):
    events = tmp_path / "events.jsonl"
    env = dict(os.environ, EDGEML_TOY_EVENTS=str(events))
    cmd = [sys.executable, "-m", "edgeml.cli", "run", "app=toy", "target=toy-mcu",
           f"build_dir={tmp_path / 'build'}", f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}"]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "PASS" in result.stdout

    report = json.loads((tmp_path / "build" / "report.json").read_text())
    assert (report["app"], report["target"], report["backend"]) == ("toy", "toy-mcu", "tflm")
    assert report["compressor"] == "tflite-int8"
    assert report["parity"]["bit_exact"] is True
    assert report["accuracy"]["float"] > 0.6  # chance is 0.33
    # the plugin's own primary metric, scored at every level, and its device-side C in the deliverable
    assert report["primary_metric"] == report["metrics"]["primary"] == "balanced_accuracy"
    assert report["metrics"]["device"]["balanced_accuracy"] > 0.6
    deliverable = json.loads((tmp_path / "build" / "export" / "deliverable.json").read_text())
    assert "toy/toy_features.h" in deliverable["files"]
    toy_check = next(c for c in report["checks"] if c["name"] == "toy.outputs_vary")
    assert toy_check["passed"] and not toy_check["blocking"]
    assert report["memory"]["ram_budget_bytes"] == int(16384 * 0.75)
    assert report["tracking"]["mlflow_run_id"]

    seen = [json.loads(line) for line in events.read_text().splitlines()]
    assert seen[0] == {"event": "run_started", "mode": "run",
                       "stages": ["sense", "preprocess", "train", "compress", "export", "validate"]}
    assert [e["stage"] for e in seen if e["event"] == "stage_finished"] == seen[0]["stages"]
    curve = [e for e in seen if e["event"] == "stage_metrics"]
    assert curve and {e["stage"] for e in curve} == {"train"} and [e["step"] for e in curve] == list(range(len(curve)))
    assert seen[-1] == {"event": "run_finished", "passed": True}


def test_a_build_that_does_not_fit_exits_1_with_the_fit_message(tmp_path):
    cmd = [sys.executable, "-m", "edgeml.cli", "run", "app=toy", "target=toy-mcu", "target.model_ram_share=0.01",
           f"build_dir={tmp_path / 'build'}", "tracking.enabled=false", "--no-progress"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"edgeml: error: RAM: model needs \d+\.\d KB, toy-mcu allows 0\.2 KB.*", last), last
    assert re.search(r"verdict +FAIL: RAM: model needs", result.stdout)
    report = json.loads((tmp_path / "build" / "report.json").read_text())
    assert report["fits"] is False and report["memory"]["ram_budget_bytes"] == 163

