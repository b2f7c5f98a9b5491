"""benchmarks/cmsis_nn_vs_tflm.py end to end on its tiny DS-CNN (16 channels, 2 blocks, 1 example) on a
Cortex-M4: the JSON holds one row per layer (and the harness's call) whose emulated instructions add up to
the run's, positive cycles/MAC for CMSIS-NN and the TFLM estimate, outputs bit-exact with TFLM for both
CMSIS-NN builds, and the wrappers build calling the wrappers. Figures are not asserted (a benchmark
prints them), only their consistency."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _bench():
    name = "edgeml_bench_cmsis_nn_vs_tflm"
    if name not in sys.modules:  # dataclasses look their module up in sys.modules
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "cmsis_nn_vs_tflm.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_tiny_ds_cnn_rows_add_up_and_match_tflm(tmp_path, capsys):
    from edgeml_cmsis_nn.library import missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "bench.json"
    assert _bench().main(["--tiny", "--no-builds", "--examples", "1", "--json", str(out),
                          "--cache-dir", str(tmp_path / "cache")]) == 0
    printed = capsys.readouterr().out
    assert "bit-exact with TFLM on 1 example (both builds)" in printed
    data = json.loads(out.read_text())
    assert data["schema"] == "edgeml.bench.cmsis_nn_vs_tflm/1" and data["core"] == "cortex-m4"
    (model,) = data["models"]
    assert model["macs"] == model["expected_macs"] == 180_192   # 16 ch, 2 blocks: 80,000 + 2 x 50,000 + 192
    layers = [r for r in model["layers"] if r["layer"] >= 0]
    assert [r["op"] for r in layers] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D",
                                         "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"]
    for side in ("cmsis_nn", "wrappers"):
        total = model[side]["instructions"]
        assert sum(r[side]["instructions"] for r in model["layers"]) == pytest.approx(total, rel=1e-6), side
        assert model[side]["cycles_per_mac"] > 0
        assert model[side]["parity"]["bit_exact"] is True and model[side]["parity"]["examples"] == 1
        assert model[side]["ram"]["bytes"] == (model[side]["ram"]["arena"] + model[side]["ram"]["other_static"]
                                               + model[side]["ram"]["stack"] + model[side]["ram"]["io_buffers"])
        flash = model[side]["flash"]
        assert flash["constants"] + flash["code_and_rest"] == flash["bytes"]
    for r in layers:
        if r["macs"]:
            assert r["cmsis_nn"]["cycles_per_mac"] > 0 and r["tflm_estimate"]["cycles_per_mac"] > 0, r
            assert r["cmsis_nn"]["instructions"] > 0, r
    assert model["tflm"]["cycles_per_mac"] > 0 and model["tflm"]["ram"]["bytes"] > 0
    # The TFLM column is the report's estimate: per-layer estimates add up to the whole model's.
    assert sum(r["tflm_estimate"]["cycles"] or 0 for r in layers) == pytest.approx(model["tflm"]["cycles"], rel=1e-9)
    kernels = {r["layer"]: (r["kernel"], r["wrappers"]["kernel"]) for r in layers}
    assert kernels[0] == ("arm_convolve_s8", "arm_convolve_wrapper_s8")
    assert kernels[1] == ("arm_depthwise_conv_3x3_s8", "arm_depthwise_conv_wrapper_s8")
    assert model["wrappers_minus_cmsis_nn"]["flash_bytes"] > 0   # a wrapper links every kernel variant
    assert "/tmp" not in out.read_text() and str(Path.home()) not in out.read_text()
