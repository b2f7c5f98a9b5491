"""TFLM built into Cortex-M4 firmware (benchmarks/tflm_firmware.py over the ``tflm`` C library) on a tiny
KWS-like DS-CNN: the emulated outputs are bit-exact with the tflite_micro interpreter, and the figures are
those of the linked image. Skips, naming the install command, when TFLM's source is not installed.

TFLM's objects land in the runners' object cache: the first run on a machine compiles ~40 C++ files
(about a minute on 2 cores), later runs link and emulate only."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]


def _module(name: str):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_kernel_sources_follow_the_ops_and_the_kernel_choice():
    import edgeml
    from edgeml_tflm.firmware_sources import kernel_sources

    ref = kernel_sources(["CONV_2D", "SOFTMAX", "MEAN"])
    assert "tensorflow/lite/micro/kernels/conv.cc" in ref and "tensorflow/lite/micro/kernels/reduce.cc" in ref
    assert not any("fully_connected" in s for s in ref)
    opt = kernel_sources(["CONV_2D", "SOFTMAX", "MEAN"], "cmsis_nn")
    assert "tensorflow/lite/micro/kernels/cmsis_nn/conv.cc" in opt and "tensorflow/lite/micro/kernels/reduce.cc" in opt
    assert "tensorflow/lite/micro/kernels/conv_common.cc" in opt
    with pytest.raises(edgeml.IncompatibleError, match="CUMSUM"):
        kernel_sources(["CUMSUM"])


def test_tiny_ds_cnn_firmware_is_bit_exact_with_tflite_micro(tmp_path):
    from edgeml_tflm.library import missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    ds_cnn = _module("ds_cnn")
    tflm_firmware = _module("tflm_firmware")
    from edgeml_tflm import host_interpreter

    tflite, _ = ds_cnn.tflite(ds_cnn.TINY, tmp_path / "cache")
    in_q, _ = tflm_firmware._io_quant(tflite)
    x = in_q.quantize(ds_cnn.float_inputs(ds_cnn.TINY, 2, seed=7))
    interpreter = host_interpreter.load(tflite, 1 << 20)
    want = np.stack([host_interpreter.invoke_one(interpreter, q).reshape(-1) for q in x])

    res = tflm_firmware.measure_tflm(tflite, x, "cortex-m4", "reference", work_dir=tmp_path / "fw")
    np.testing.assert_array_equal(res["outputs"], want)
    assert len(np.unique(want)) > 1   # the comparison means something
    assert res["instructions"] > 100_000 and res["cycles"] > res["instructions"] * 0.9
    assert 0 < res["init_instructions"] < res["instructions"]
    assert res["flash"] == sum(res["flash_sections"].values())
    assert res["ram"] == sum(res["ram_sections"].values()) + res["stack"]
    assert 0 < res["arena"] < res["arena_allocated"] <= res["ram_sections"][".bss"]
    assert "-fno-rtti" in res["methods"]["build"]
