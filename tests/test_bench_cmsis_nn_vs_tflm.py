"""benchmarks/cmsis_nn_vs_tflm.py end to end on its tiny DS-CNN (16 channels, 2 blocks, 1 example) on a
Cortex-M4: the JSON holds one row per layer (and the harness's call) whose emulated instructions add up to
the run's, positive cycles/MAC for CMSIS-NN and the TFLM estimate, outputs bit-exact with TFLM for both
CMSIS-NN builds, and the wrappers build calling the wrappers. With TFLM's C++ installed, TFLM with its
reference kernels is measured too (built into firmware and emulated): bit-exact with the tflite_micro
interpreter, per-op figures that add up to its invoke, flash by origin that adds up to the image, and the
summary line. Figures are not asserted (a benchmark prints them), only their consistency; the one
expectation on them is that reference kernels take more instructions than CMSIS-NN's.

With TFLM's objects in the runners' object cache this takes ~30 s on 2 cores; the first run on a machine
compiles TFLM (about a minute more)."""

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


def _run(tmp_path, capsys, tflm_kernels: str) -> tuple[str, dict]:
    out = tmp_path / "bench.json"
    assert _bench().main(["--tiny", "--no-builds", "--examples", "1", "--json", str(out), "--tflm-kernels",
                          tflm_kernels, "--cache-dir", str(tmp_path / "cache")]) == 0
    text = out.read_text()
    assert "/tmp" not in text and str(Path.home()) not in text
    return capsys.readouterr().out, json.loads(text)


def _check_cmsis_nn_and_estimate(printed: str, data: dict) -> dict:
    assert "bit-exact with TFLM on 1 example (both builds)" in printed
    assert data["schema"] == "edgeml.bench.cmsis_nn_vs_tflm/2" and data["core"] == "cortex-m4"
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
    estimate = model["tflm_estimate"]
    assert estimate["cycles_per_mac"] > 0 and estimate["ram"]["bytes"] > 0 and estimate["instructions"] is None
    # The estimate column is the report's estimate: per-layer estimates add up to the whole model's.
    assert sum(r["tflm_estimate"]["cycles"] or 0 for r in layers) == pytest.approx(estimate["cycles"], rel=1e-9)
    kernels = {r["layer"]: (r["kernel"], r["wrappers"]["kernel"]) for r in layers}
    assert kernels[0] == ("arm_convolve_s8", "arm_convolve_wrapper_s8")
    assert kernels[1] == ("arm_depthwise_conv_3x3_s8", "arm_depthwise_conv_wrapper_s8")
    assert model["wrappers_minus_cmsis_nn"]["flash_bytes"] > 0   # a wrapper links every kernel variant
    return model


def test_tiny_ds_cnn_against_measured_tflm_reference_kernels(tmp_path, capsys):
    from edgeml_cmsis_nn.library import missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    bench = _bench()
    if bench.tflm_unavailable():
        pytest.skip(f"TFLM's C++ is not installed, the measured TFLM column cannot be built: "
                    f"{bench.tflm_unavailable()}")
    printed, data = _run(tmp_path, capsys, "reference")
    model = _check_cmsis_nn_and_estimate(printed, data)
    assert data["tflm_kernels"] == ["reference"] and data["tflm_not_built"] is None
    assert list(model["tflm_measured"]) == ["reference"] and model["tflm_not_measured"] == {}
    ref = model["tflm_measured"]["reference"]
    assert ref["parity"]["bit_exact"] is True and ref["parity"]["examples"] == 1
    assert ref["instructions"] > model["cmsis_nn"]["instructions"]   # reference kernels: plain C loops
    assert ref["cycles_per_mac"] > 0 and ref["energy_uj"] > 0 and ref["init_instructions"] > 0
    # Flash by origin (the linker map) adds up to the image; the model array is the .tflite with its padding.
    flash = ref["flash"]
    assert sum(flash["by_origin"].values()) == flash["bytes"] == sum(flash["sections"].values())
    assert 0 <= flash["by_origin"]["alignment"] < 1024
    assert model["tflm_estimate"]["flash"]["bytes"] <= flash["by_origin"]["model array"] \
        < model["tflm_estimate"]["flash"]["bytes"] + 64
    assert flash["by_origin"]["TFLM framework"] > 0 and flash["by_origin"]["TFLM kernels"] > 0
    assert "CMSIS-NN" not in flash["by_origin"]
    ram = ref["ram"]
    assert ram["bytes"] == ram["arena"] + ram["stack"] + ram["other_static"] and ram["arena"] > 0
    # Per op (the probe's profiler marks): one entry per layer, adding up (with the interpreter's share) to
    # the measured invoke within what the model's invoke adds around Invoke() (copying input and output).
    layers = [r for r in model["layers"] if r["layer"] >= 0]
    assert [o["op"] for o in ref["per_op"]] == [r["op"] for r in layers]
    assert all(r["tflm"]["reference"]["instructions"] > 0 for r in layers)
    probe_invoke = sum(o["instructions"] for o in ref["per_op"]) + ref["between_ops"]["instructions"]
    assert probe_invoke == pytest.approx(ref["instructions"], abs=2_000)
    assert ref["per_op_minus_invoke"] == pytest.approx(probe_invoke - ref["instructions"], abs=0.5)
    s = model["summary"]["reference"]
    assert s["instructions"]["tflm_over_cmsis_nn"] > 1
    summary = [ln for ln in printed.splitlines() if ln.strip().startswith("summary,")]
    assert len(summary) == 1 and "TFLM (reference kernels)" in summary[0] and "TFLM + CMSIS-NN" not in summary[0]
    assert f"x{s['cycles']['tflm'] / s['cycles']['cmsis_nn']:.2f}" in summary[0]
    assert "Per layer, TFLM measured" in printed


def test_without_the_tflm_library_the_estimate_is_the_only_tflm_column(tmp_path, capsys, monkeypatch):
    """TFLM's C++ not found (EDGEML_TFLM_ROOT pointing at an empty dir, as a machine without it): one note
    naming the install command, no TFLM firmware, the estimate column and a summary against it."""
    from edgeml_cmsis_nn.library import missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    (tmp_path / "no-tflm").mkdir()
    monkeypatch.setenv("EDGEML_TFLM_ROOT", str(tmp_path / "no-tflm"))
    printed, data = _run(tmp_path, capsys, "both")
    model = _check_cmsis_nn_and_estimate(printed, data)
    notes = [ln for ln in printed.splitlines() if ln.startswith("note: TFLM is the estimate only")]
    assert len(notes) == 1 and "edgeml deps tflm --from PATH" in notes[0]
    assert data["tflm_kernels"] == [] and model["tflm_measured"] == {} and model["summary"] == {}
    assert "TFLM estimate (TFLM not measured)" in printed and "Per layer, TFLM measured" not in printed
