"""The keyword spotting build end to end through the CLI, on a tiny config.

Same config and seed twice, in two build dirs: the .tflite and its C array are
byte-identical (so is every stage dir), the build fits the reference
Cortex-M4 and TFLM's outputs equal TFLite's reference kernels bit for bit.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from blobs_plugin import ROOT
from edgeml.artifacts import tree_hashes
from kws_tiny import TINY_KWS_OVERRIDES

pytestmark = pytest.mark.slow


def _build(tmp_path, name):
    cmd = [sys.executable, "-m", "edgeml.cli", "run", "app=kws", "target=cortex-m4", "--no-progress",
           f"build_dir={tmp_path / name}", "tracking.enabled=false", *TINY_KWS_OVERRIDES]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / name


def test_kws_builds_fits_is_bit_exact_and_reproducible(tmp_path):
    a = _build(tmp_path, "a")
    report = json.loads((a / "report.json").read_text())
    assert report["fits"] and report["passed"]
    assert report["parity"] == report["parity"] | {"bit_exact": True, "mismatches": 0, "compared": 90}
    assert report["memory"]["ram_bytes"] <= report["memory"]["ram_budget_bytes"] == 16384
    assert report["latency"]["macs"] > 0 and report["energy_uj"] > 0
    export = a / "export"
    model = (export / "model.tflite").read_bytes()
    assert model[4:8] == b"TFL3"
    assert {"model_data.cc", "model_data.h", "op_resolver.h", "edgeml_model.cc", "test_vectors.h"} <= \
        {p.name for p in export.iterdir()}

    b = _build(tmp_path, "b")
    assert (b / "export" / "model.tflite").read_bytes() == model
    assert (b / "export" / "model_data.cc").read_bytes() == (export / "model_data.cc").read_bytes()
    for stage in ("sense", "preprocess", "train", "compress", "export", "validate"):
        assert tree_hashes(a / stage) == tree_hashes(b / stage), stage
