"""The tflm backend on a real compressed model: export, measured arena, C that compiles, bit-exact run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

import edgeml

pytestmark = pytest.mark.slow

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ is not installed")
WARNINGS = ["-Wall", "-Wextra", "-Werror", "-pedantic"]


def test_plugin_registers_the_backend():
    import edgeml_tflm.plugin

    (b,) = edgeml_tflm.plugin.edgeml_register_backends()
    assert (b.name, b.accepts) == ("tflm", ("tflite-int8",))


def test_export_writes_every_listed_file(exported):
    deliverable, export_dir = exported
    on_disk = {p.name for p in export_dir.iterdir()} - {"manifest.json", "deliverable.json"}
    assert set(deliverable.files) == on_disk
    assert {"model.tflite", "model_data.h", "model_data.cc", "op_resolver.h", "memory_plan.h", "memory_plan.json",
            "edgeml_model.h", "edgeml_model.cc", "test_vectors.h", "edgeml_selftest.cc"} == on_disk
    assert deliverable.entry_point == "edgeml_model_invoke"
    assert deliverable.flash_bytes.method == "the .tflite model array; TFLM runtime code not included"
    assert "64-bit" in deliverable.ram_bytes.method


def test_model_tflite_is_a_copy_and_the_c_array_holds_its_bytes(tiny, exported):
    _, export_dir = exported
    data = (export_dir / "model.tflite").read_bytes()
    assert data == (tiny.build_dir / "compress" / "model.tflite").read_bytes()
    text = (export_dir / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_edgeml_model[] = {" in text
    body = text.split("g_edgeml_model[] = {", 1)[1].split("};", 1)[0]
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body)) == data
    assert f"const unsigned int g_edgeml_model_len = {len(data)};" in text


@needs_gxx
def test_compiled_c_array_equals_the_tflite_and_is_aligned(exported, tmp_path):
    _, export_dir = exported
    harness = tmp_path / "dump.cc"
    harness.write_text(
        '#include <stdint.h>\n#include <stdio.h>\n#include "model_data.h"\n'
        "int main(void) {\n"
        "  if (((uintptr_t)g_edgeml_model) % 16u != 0u) return 2;\n"
        "  fwrite(g_edgeml_model, 1, g_edgeml_model_len, stdout);\n  return 0;\n}\n")
    exe = tmp_path / "dump"
    subprocess.run([GXX, "-std=c++17", *WARNINGS, "-I", str(export_dir), str(export_dir / "model_data.cc"),
                    str(harness), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, check=True).stdout
    assert out == (export_dir / "model.tflite").read_bytes()


@needs_gxx
@pytest.mark.parametrize("source", ["model_data.cc", "edgeml_selftest.cc"])
def test_generated_sources_compile_warning_free(exported, tmp_path, source):
    _, export_dir = exported
    for extra in ([], ["-DEDGEML_SELFTEST_MAIN"]):
        subprocess.run([GXX, "-std=c++17", *WARNINGS, *extra, "-I", str(export_dir), "-c",
                        str(export_dir / source), "-o", str(tmp_path / "out.o")], check=True)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_headers_are_plain_c(exported, tmp_path):
    _, export_dir = exported
    src = tmp_path / "use.c"
    src.write_text('#include "edgeml_model.h"\n#include "model_data.h"\n#include "test_vectors.h"\n'
                   "int use(void) { return edgeml_test_inputs[0][0] + edgeml_test_expected[0][0] "
                   "+ (int)g_edgeml_model_len + (int)EDGEML_TENSOR_ARENA_SIZE; }\n")
    subprocess.run(["gcc", "-std=c99", *WARNINGS, "-I", str(export_dir), "-c", str(src), "-o",
                    str(tmp_path / "use.o")], check=True)


def test_op_resolver_registers_exactly_the_model_ops(compressed, exported):
    from edgeml_tflm.op_resolver import RESOLVER_METHODS

    _, export_dir = exported
    text = (export_dir / "op_resolver.h").read_text()
    calls = re.findall(r"resolver\.(Add\w+)\(\)", text)
    assert sorted(calls) == sorted(RESOLVER_METHODS[op] for op in compressed.info["ops"])
    assert sorted(calls) == ["AddConv2D", "AddDepthwiseConv2D", "AddMean", "AddSoftmax"]
    assert f"#define EDGEML_OP_COUNT {len(calls)}" in text
    assert "tflite::MicroMutableOpResolver<EDGEML_OP_COUNT>" in text


def test_arena_is_the_smallest_that_works_plus_margin(tiny, exported):
    from edgeml_tflm.arena_search import arena_works

    deliverable, export_dir = exported
    data = (export_dir / "model.tflite").read_bytes()
    q = edgeml.CompressedModel.load(tiny.build_dir / "compress").input_quant.quantize(tiny.features.x["test"][:1])[0]
    measured, arena = deliverable.info["arena_measured"], deliverable.info["arena_bytes"]
    assert measured % 16 == 0 and arena % 16 == 0
    assert arena_works(data, measured, q)
    assert not arena_works(data, measured - 16, q)
    assert arena == measured + deliverable.info["arena_margin"] and deliverable.info["arena_margin"] > 0
    assert deliverable.ram_bytes.value == arena
    assert f"#define EDGEML_TENSOR_ARENA_SIZE {arena}u" in (export_dir / "memory_plan.h").read_text()
    import json
    plan = json.loads((export_dir / "memory_plan.json").read_text())
    assert (plan["arena_bytes"], plan["arena_measured_bytes"], plan["host"]) == (arena, measured, "64-bit")


def test_golden_vectors_are_quantized_test_inputs_with_reference_outputs(tiny, compressed, exported):

    deliverable, export_dir = exported
    text = (export_dir / "test_vectors.h").read_text()
    idx = deliverable.info["golden_vectors"]
    assert len(idx) == int(tiny.config.backend.golden_vectors)

    def table(name: str) -> np.ndarray:
        body = text.split(f"{name}[", 1)[1].split("= {", 1)[1].split("};", 1)[0]
        return np.array([int(v) for v in re.findall(r"-?\d+", body)], dtype=np.int64).reshape(len(idx), -1)

    q = compressed.input_quant.quantize(tiny.features.x["test"][idx]).reshape(len(idx), -1)
    np.testing.assert_array_equal(table("edgeml_test_inputs"), q)
    np.testing.assert_array_equal(table("edgeml_test_expected"), compressed.test_outputs[idx])


def test_export_is_byte_deterministic(tiny, compressed, exported):
    from edgeml_tflm.backend import TflmBackend

    deliverable, export_dir = exported
    ctx = tiny.ctx("export")
    again = TflmBackend().export(ctx, compressed, tiny.features)
    assert again.files == deliverable.files
    for name in deliverable.files:
        assert (ctx.out_dir / name).read_bytes() == (export_dir / name).read_bytes(), name


def test_run_is_bit_exact_with_builtin_ref(tiny, compressed, exported):
    from edgeml.metrics import parity
    from edgeml_tflm.backend import TflmBackend

    deliverable, _ = exported
    device = TflmBackend().run(tiny.ctx("validate"), deliverable, compressed, tiny.features)
    assert device.test_outputs.dtype == compressed.test_outputs.dtype == np.int8
    assert device.test_outputs.shape == compressed.test_outputs.shape == (len(tiny.features.x["test"]), 3)
    assert len({tuple(r) for r in device.test_outputs}) > 5, "constant outputs prove nothing"
    assert parity(compressed.test_outputs, device.test_outputs)["bit_exact"]
    assert device.method.startswith("TFLM interpreter (tflite-micro 0.dev") and device.method.endswith("host build)")


def test_an_unsupported_format_is_refused(tiny, compressed, exported):
    from edgeml_tflm.backend import TflmBackend

    other = edgeml.CompressedModel(format="sklearn", path="model.skops", test_outputs=compressed.test_outputs,
                                   reference="scikit-learn")
    with pytest.raises(edgeml.IncompatibleError, match="accepts tflite-int8 models, not 'sklearn'"):
        TflmBackend().export(tiny.ctx("export"), other, tiny.features)
    with pytest.raises(edgeml.IncompatibleError, match="not 'sklearn'"):
        TflmBackend().run(tiny.ctx("validate"), exported[0], other, tiny.features)


def test_an_op_tflm_cannot_register_is_refused_by_name():
    from edgeml_tflm.op_resolver import resolver_methods

    assert resolver_methods(["CONV_2D", "SOFTMAX"]) == ["AddConv2D", "AddSoftmax"]
    with pytest.raises(edgeml.IncompatibleError, match="op RFFT2D"):
        resolver_methods(["CONV_2D", "RFFT2D"])


def test_bad_backend_options_are_refused_at_composition(tiny):
    from edgeml_tflm.backend import TflmBackend

    config = OmegaConf.merge(tiny.config, {"backend": {"c": {"symbol_prefix": "9lives"}}})
    with pytest.raises(edgeml.ConfigError, match="not a C identifier"):
        TflmBackend().check(config, tiny.target)
    TflmBackend().check(tiny.config, tiny.target)


def test_symbol_prefix_renames_every_symbol(tiny, compressed):
    from edgeml_tflm.backend import TflmBackend

    config = OmegaConf.merge(tiny.config, {"backend": {"c": {"symbol_prefix": "kws"}}})
    ctx = tiny.ctx("export")
    ctx.config = config
    deliverable = TflmBackend().export(ctx, compressed, tiny.features)
    assert deliverable.entry_point == "kws_model_invoke"
    assert "kws_model.cc" in deliverable.files and "kws_selftest.cc" in deliverable.files
    assert "g_kws_model[]" in (ctx.out_dir / "model_data.cc").read_text()
    assert "#define KWS_TENSOR_ARENA_SIZE" in (ctx.out_dir / "memory_plan.h").read_text()
