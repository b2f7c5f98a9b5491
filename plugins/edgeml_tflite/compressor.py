"""The ``tflite-int8`` compressor: a float model to a full-integer INT8 ``.tflite``.

The steps, each in its own module: the trained model becomes a TFLite
converter (:mod:`converter_sources`, one entry per input kind: Keras
directly, torch through a kept ONNX file and onnx2tf, :mod:`torch_onnx`), the converter
quantizes it with a seeded calibration set (:mod:`calibration`,
:mod:`int8_conversion`), the graph is checked and measured
(:mod:`graph_inspection`), and the test split runs through TFLite's
reference kernels (:mod:`reference_run`) so that device parity is exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import edgeml

from edgeml_tflite import refine
from edgeml_tflite.calibration import calibration_indices
from edgeml_tflite.converter_sources import CONVERTER_SOURCES
from edgeml_tflite.graph_inspection import inspect_int8_graph
from edgeml_tflite.int8_conversion import convert_full_int8
from edgeml_tflite.reference_run import reference_name, run_reference

MODEL_FILE = "model.tflite"


class TfliteInt8Compressor(edgeml.Compressor):
    """Full-integer INT8 post-training quantization with TensorFlow's TFLite converter."""

    name = "tflite-int8"
    version = "0.1.0"
    description = "full-integer INT8 post-training quantization (TFLite converter, per-channel weights)"
    input_kinds = tuple(CONVERTER_SOURCES)
    output_format = "tflite-int8"

    def compress(self, ctx: edgeml.StageContext, model: edgeml.TrainedModel,
                 features: edgeml.FeatureSet) -> edgeml.CompressedModel:
        source = CONVERTER_SOURCES.get(model.kind)
        if source is None:
            raise edgeml.IncompatibleError(
                f"compressor '{self.name}' takes {'/'.join(self.input_kinds)} models, not '{model.kind}': "
                "train one of those kinds or choose another compressor")
        model_path = Path(ctx.input_dir("train")) / model.path
        samples = int(ctx.config.compress.representative_samples)
        x_train = features.x["train"]
        idx = calibration_indices(len(x_train), samples, ctx.seed)

        # No timings in artifacts: they would break byte-identical rebuilds
        # (the orchestrator records stage times outside the manifest).
        src = source(model_path, Path(ctx.out_dir), features, ctx.progress)
        if refine.wanted(ctx.config.compress):   # structured pruning and/or QAT first (edgeml_tflite.refine)
            src = _refined_source(model, model_path, features, ctx, x_train[idx])
        tflite_bytes = convert_full_int8(src.converter, x_train[idx])
        (Path(ctx.out_dir) / MODEL_FILE).write_bytes(tflite_bytes)

        graph = inspect_int8_graph(tflite_bytes)
        outputs = run_reference(tflite_bytes, graph.input_quant, features.x["test"], ctx.progress)
        extra = dict(src.info)
        for level, level_outputs in src.levels.items():  # how far each intermediate model is from the float one
            float_outputs = np.asarray(model.test_outputs)
            if float_outputs.shape == np.shape(level_outputs):
                extra.setdefault(level, {})["max_abs_diff_vs_float"] = float(
                    np.abs(float_outputs.astype(np.float64) - np.asarray(level_outputs, np.float64)).max(initial=0.0))
        return edgeml.CompressedModel(
            format=self.output_format, path=MODEL_FILE, test_outputs=outputs, reference=reference_name(),
            macs=graph.macs, macs_by_kind=graph.macs_by_kind, input_quant=graph.input_quant, output_quant=graph.output_quant,
            metrics={"model_bytes": float(len(tflite_bytes))},
            info={
                "ops": graph.op_counts, "op_sequence": graph.op_sequence, "tensors": graph.tensor_count,
                "model_bytes": len(tflite_bytes), "converter": src.version,
                "transpose_ops": int(graph.op_counts.get("TRANSPOSE", 0)), **extra,
                # the float model the INT8 one was converted from (validate judges quantization against it)
                "quantized_from": "pruned" if "pruned" in src.levels else "float",
                "macs_method": graph.macs_method,
                "calibration": {"samples": len(idx), "split": "train", "seed": ctx.seed},
                "input_shape": graph.input_shape, "output_shape": graph.output_shape,
                "input_quantization": "q = clip(round_half_away_from_zero(float32(x) / float32(scale)) "
                                      "+ zero_point, -128, 127)",
            },
            levels=dict(src.levels))


def _refined_source(model: edgeml.TrainedModel, model_path: Path, features: edgeml.FeatureSet,
                    ctx: edgeml.StageContext, calibration_x: np.ndarray):
    """The converter of the pruned / QAT-trained model, with the ``pruned`` and ``ptq`` levels."""
    from edgeml_tflite.converter_sources import ConverterSource, keras_model_converter

    if model.kind != "keras":
        raise edgeml.IncompatibleError(
            f"compress.prune and compress.qat rewrite Keras models; this '{model.kind}' model cannot be: "
            "set compress.prune.fraction=0 and compress.qat.enabled=false")
    refined = refine.refine_keras(model_path, features, ctx.config.compress, ctx.seed, ctx.progress,
                                 calibration_x)
    levels = dict(refined.levels)
    if refined.ptq_model is not None:          # plain PTQ of the same model, to show what QAT changes
        converter, _ = keras_model_converter(refined.ptq_model)
        ptq_bytes = convert_full_int8(converter, calibration_x)
        ptq_graph = inspect_int8_graph(ptq_bytes)
        raw = run_reference(ptq_bytes, ptq_graph.input_quant, features.x["test"], ctx.progress)
        q = ptq_graph.output_quant
        levels["ptq"] = ((raw.astype(np.float32) - q.zero_point) * q.scale).astype(np.float32)
    converter, version = keras_model_converter(refined.model)
    return ConverterSource(converter, version, levels=levels, info={"refine": refined.info})
