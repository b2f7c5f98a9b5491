"""The tflite-int8 compressor on a real (tiny) Keras model: no mocks."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import edgeml
from tiny_keras_build import ROOT, TINY_MACS

pytestmark = pytest.mark.slow


def _ops_and_types(tflite_bytes: bytes) -> tuple[list[str], set[str]]:
    """Op names and every tensor type the ops touch, read independently of the plugin."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=tflite_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    details = {t["index"]: t for t in it.get_tensor_details()}
    names, types = [], set()
    for op in it._get_ops_details():
        names.append(op["op_name"])
        for i in [*op["inputs"], *op["outputs"]]:
            if i >= 0:
                types.add(np.dtype(details[i]["dtype"]).name)
    return names, types


def test_plugin_registers_the_compressor():
    import edgeml_tflite.plugin

    (c,) = edgeml_tflite.plugin.edgeml_register_compressors()
    assert (c.name, c.input_kinds, c.output_format) == ("tflite-int8", ("keras", "torch"), "tflite-int8")


def test_conversion_is_full_integer_with_folded_bn_and_fused_relu(compressed):
    model, out = compressed
    data = (out / model.path).read_bytes()
    names, types = _ops_and_types(data)
    assert types <= {"int8", "int32"}
    assert sorted(set(names)) == ["CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "SOFTMAX"]
    assert not {"MUL", "ADD", "RELU", "RELU6", "QUANTIZE", "DEQUANTIZE"} & set(names)
    assert model.format == "tflite-int8"
    assert model.info["ops"] == {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 1, "MEAN": 1, "SOFTMAX": 1}
    assert model.info["model_bytes"] == len(data)
    assert model.info["tensors"] > 0 and model.info["converter"].startswith("tensorflow 2.")


def test_quant_params_are_the_model_tensors(compressed):
    from ai_edge_litert.interpreter import Interpreter

    model, out = compressed
    it = Interpreter(model_content=(out / model.path).read_bytes())
    inp, outp = it.get_input_details()[0], it.get_output_details()[0]
    assert inp["dtype"] == np.int8 and outp["dtype"] == np.int8
    assert (model.input_quant.scale, model.input_quant.zero_point) == (pytest.approx(inp["quantization"][0], rel=0, abs=0), inp["quantization"][1])
    assert (model.output_quant.scale, model.output_quant.zero_point) == (outp["quantization"][0], outp["quantization"][1])


def test_macs_equal_the_hand_count(compressed):
    model, _ = compressed
    assert model.macs == TINY_MACS == 8064


def test_repeat_conversion_is_byte_identical(tiny, compressed):
    from edgeml_tflite.compressor import TfliteInt8Compressor

    model, out = compressed
    again_ctx = tiny.ctx("compress")
    again = TfliteInt8Compressor().compress(again_ctx, tiny.trained, tiny.features)
    assert (again_ctx.out_dir / again.path).read_bytes() == (out / model.path).read_bytes()
    np.testing.assert_array_equal(again.test_outputs, model.test_outputs)


def test_conversion_is_byte_identical_across_processes(tiny, compressed):
    from omegaconf import OmegaConf

    model, out = compressed
    config = OmegaConf.to_container(tiny.config)
    script = textwrap.dedent(f"""
        import hashlib, sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from pathlib import Path
        from tiny_keras_build import TinyBuild, tiny_features
        from edgeml_tflite.compressor import TfliteInt8Compressor
        import edgeml
        from omegaconf import OmegaConf
        build = Path({str(tiny.build_dir)!r})
        tb = TinyBuild(build, tiny_features(), edgeml.TrainedModel(kind="keras", path="model.keras",
                       test_outputs=None), OmegaConf.create({config!r}), None)
        ctx = tb.ctx("compress")
        m = TfliteInt8Compressor().compress(ctx, tb.trained, tb.features)
        print("SHA", hashlib.sha256((ctx.out_dir / m.path).read_bytes()).hexdigest())
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    sha = [ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("SHA ")][0]
    assert sha == hashlib.sha256((out / model.path).read_bytes()).hexdigest()


def test_another_seed_calibrates_on_other_examples(tiny):
    from edgeml_tflite.calibration import calibration_indices

    a, b = calibration_indices(192, 64, 0), calibration_indices(192, 64, 1)
    assert len(set(a)) == 64 and np.array_equal(a, calibration_indices(192, 64, 0))
    assert not np.array_equal(a, b)
    assert len(calibration_indices(10, 64, 0)) == 10


def test_reference_outputs_are_builtin_ref_and_vary(tiny, compressed):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    model, out = compressed
    x = tiny.features.x["test"]
    assert model.test_outputs.dtype == np.int8 and model.test_outputs.shape == (len(x), 3)
    assert len({tuple(r) for r in model.test_outputs}) > 5, "constant outputs prove nothing"
    assert model.reference == "TFLite reference kernels (BUILTIN_REF, ai-edge-litert 2.3.0)"
    # An independent run: the stored quantization rule, batch of one, reference kernels.
    it = Interpreter(model_content=(out / model.path).read_bytes(),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    iq = model.input_quant
    for i in (0, 17, len(x) - 1):
        v = x[i:i + 1] / np.float32(iq.scale)
        q = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + iq.zero_point, -128, 127).astype(np.int8)
        it.set_tensor(it.get_input_details()[0]["index"], q)
        it.invoke()
        np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"])[0], model.test_outputs[i])


def test_int8_model_agrees_with_the_float_model(tiny, compressed):
    model, _ = compressed
    agree = (model.dequantized_outputs().argmax(1) == tiny.trained.test_outputs.argmax(1)).mean()
    assert agree >= 0.9


def test_a_float_graph_is_refused_naming_the_op(tiny):
    import tensorflow as tf
    import keras

    from edgeml_tflite.graph_inspection import inspect_int8_graph

    model = keras.models.load_model(tiny.build_dir / "train" / "model.keras")
    float_bytes = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    with pytest.raises(edgeml.EdgeMLError, match=r"op #0 CONV_2D with FLOAT32"):
        inspect_int8_graph(float_bytes)


def test_an_unknown_model_kind_is_refused(tiny):
    from edgeml_tflite.compressor import TfliteInt8Compressor

    trained = edgeml.TrainedModel(kind="sklearn", path="model.skops", test_outputs=np.zeros((1, 3)))
    with pytest.raises(edgeml.IncompatibleError, match="not 'sklearn'"):
        TfliteInt8Compressor().compress(tiny.ctx("compress"), trained, tiny.features)


def test_a_missing_model_file_is_a_data_error(tiny):
    from edgeml_tflite.compressor import TfliteInt8Compressor

    trained = edgeml.TrainedModel(kind="keras", path="absent.keras", test_outputs=np.zeros((1, 3)))
    with pytest.raises(edgeml.DataError, match="absent.keras is missing"):
        TfliteInt8Compressor().compress(tiny.ctx("compress"), trained, tiny.features)


def test_macs_are_split_by_layer_kind(compressed):
    model, _ = compressed
    assert model.macs_by_kind == {"conv": 12 * 8 * 4 * 9, "depthwise": 12 * 8 * 4 * 9, "pointwise": 12 * 8 * 3 * 4}
    assert sum(model.macs_by_kind.values()) == model.macs
