"""The ``tflite-int8`` compressor: a float model to a full-integer INT8 ``.tflite``.

The steps, each in its own module: the trained model becomes a TFLite
converter (:mod:`converter_sources`, one entry per input kind), the converter
quantizes it with a seeded calibration set (:mod:`calibration`,
:mod:`int8_conversion`), the graph is checked and measured
(:mod:`graph_inspection`), and the test split runs through TFLite's
reference kernels (:mod:`reference_run`) so that device parity is exact.
"""

from __future__ import annotations

from pathlib import Path

import edgeml

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
        converter, converter_version = source(model_path)
        tflite_bytes = convert_full_int8(converter, x_train[idx])
        (Path(ctx.out_dir) / MODEL_FILE).write_bytes(tflite_bytes)

        graph = inspect_int8_graph(tflite_bytes)
        outputs = run_reference(tflite_bytes, graph.input_quant, features.x["test"], ctx.progress)
        return edgeml.CompressedModel(
            format=self.output_format, path=MODEL_FILE, test_outputs=outputs, reference=reference_name(),
            macs=graph.macs, macs_by_kind=graph.macs_by_kind, input_quant=graph.input_quant, output_quant=graph.output_quant,
            metrics={"model_bytes": float(len(tflite_bytes))},
            info={
                "ops": graph.op_counts, "op_sequence": graph.op_sequence, "tensors": graph.tensor_count,
                "model_bytes": len(tflite_bytes), "converter": converter_version,
                "macs_method": graph.macs_method,
                "calibration": {"samples": len(idx), "split": "train", "seed": ctx.seed},
                "input_shape": graph.input_shape, "output_shape": graph.output_shape,
                "input_quantization": "q = clip(round_half_away_from_zero(float32(x) / float32(scale)) "
                                      "+ zero_point, -128, 127)",
            })
