"""The keyword spotting build with backend=cmsis_nn, end to end through the CLI on a tiny config: the
generated C equals TFLM bit for bit on the whole test split and layer by layer, on the host and in the
emulator; the arena is the planner's exact size within 5 % of the lower bound; latency is emulated."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from blobs_plugin import ROOT
from kws_tiny import TINY_KWS_OVERRIDES

pytestmark = pytest.mark.slow


def test_kws_cmsis_nn_build_is_bit_exact_with_tflm_and_measured(tmp_path):
    from edgeml_cmsis_nn.library import missing_reason

    if missing_reason():
        pytest.skip(missing_reason())
    cmd = [sys.executable, "-m", "edgeml.cli", "run", "app=kws", "target=cortex-m4", "backend=cmsis_nn",
           "--no-progress", f"build_dir={tmp_path / 'b'}", "tracking.enabled=false", *TINY_KWS_OVERRIDES]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    checks = {c["name"]: c for c in report["checks"]}
    for name in ("parity.tflm", "parity.layers", "parity.device", "parity.runners", "memory.arena_plan",
                 "outputs.vary"):
        assert checks[name]["passed"], checks[name]["message"]
    assert set(checks["parity.layers"]["figures"]["runners"]) == {"host", "emulator"}
    assert report["passed"] and report["fits"]
    assert report["latency"]["method"] == "emulated"
    assert report["latency"]["parts"]["model"]["measured"]
    mem = json.loads((tmp_path / "b" / "export" / "memory_plan.json").read_text())
    assert mem["arena_bytes"] <= 1.05 * mem["sequential_lower_bound_bytes"]
    deliverable = json.loads((tmp_path / "b" / "export" / "deliverable.json").read_text())
    assert mem["arena_bytes"] < deliverable["info"]["memory"]["tflm_arena_bytes"]
    assert "linked image" in report["memory"]["flash_method"]


def test_without_cmsis_nn_the_build_stops_at_composition_with_the_install_command(tmp_path):
    env = {**__import__("os").environ, "EDGEML_CACHE_DIR": str(tmp_path / "empty-cache")}
    env.pop("EDGEML_CMSIS_NN_ROOT", None)
    cmd = [sys.executable, "-m", "edgeml.cli", "run", "app=kws", "target=cortex-m4", "backend=cmsis_nn",
           "--no-progress", f"build_dir={tmp_path / 'b'}", "tracking.enabled=false"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "edgeml deps cmsis-nn" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()
