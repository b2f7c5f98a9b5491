"""ECG, vision and obstacle build with backend=cmsis_nn too (tiny configs, real code paths): the same checks
as KWS — bit-exact with TFLM on the whole test split and layer by layer on the host and in the emulator,
the arena within 5 % of the sequential lower bound, the model's latency emulated. The backend knows
none of these apps: each brings its own ops (ECG: 1-D convolutions as CONV_2D, STRIDED_SLICE,
CONCATENATION, MAX_POOL_2D; obstacle: LOGISTIC; vision: a per-cell SOFTMAX)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from blobs_plugin import ROOT
from ecg_tiny import TINY_ECG_OVERRIDES
from obstacle_tiny import TINY_OBSTACLE_OVERRIDES
from vision_tiny import TINY_VISION_OVERRIDES

pytestmark = pytest.mark.slow

BUILDS = {
    "ecg": ["app=ecg", "target=cortex-m4", *TINY_ECG_OVERRIDES],
    "vision": ["app=vision", "target=cortex-m7", *TINY_VISION_OVERRIDES],
    "obstacle": TINY_OBSTACLE_OVERRIDES,
}


@pytest.mark.parametrize("app", sorted(BUILDS))
def test_app_builds_with_cmsis_nn_bit_exact_with_tflm(tmp_path, app):
    from edgeml_cmsis_nn.library import missing_reason

    if missing_reason():
        pytest.skip(missing_reason())
    cmd = [sys.executable, "-m", "edgeml.cli", "run", *BUILDS[app], "backend=cmsis_nn", "--no-progress",
           f"build_dir={tmp_path / 'b'}", "tracking.enabled=false"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    report_path = tmp_path / "b" / "report.json"
    assert report_path.is_file(), result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    checks = {c["name"]: c for c in report["checks"]}
    for name in ("parity.tflm", "parity.layers", "parity.runners", "memory.arena_plan", "outputs.vary"):
        assert checks[name]["passed"], checks[name]["message"]
    assert set(checks["parity.layers"]["figures"]["runners"]) == {"host", "emulator"}
    assert report["latency"]["parts"]["model"]["measured"], report["latency"]["parts"]["model"]["method"]
    assert "linked image" in report["memory"]["parts"]["model"]["flash_method"]
