"""Full-integer INT8 post-training quantization with the TFLite converter."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from typing import Any, Iterator

import numpy as np

import edgeml


def convert_full_int8(converter: Any, calibration_x: np.ndarray) -> bytes:
    """Quantize every tensor to int8 (int32 biases) and return the flatbuffer.

    Weights are per-channel (the converter's default for conv layers);
    batch norm is folded into the preceding conv and activations are fused
    into it by the converter's graph passes. Only ``TFLITE_BUILTINS_INT8`` ops
    are allowed, so a layer TFLite cannot quantize fails here, by name, rather
    than falling back to float.
    """
    import tensorflow as tf

    calibration_x = np.ascontiguousarray(calibration_x, dtype=np.float32)
    if not np.isfinite(calibration_x).all():
        raise edgeml.DataError("the calibration inputs (training split) contain NaN or inf: fix the app's preprocess")

    def representative_dataset() -> Iterator[list[np.ndarray]]:
        for i in range(len(calibration_x)):
            yield [calibration_x[i:i + 1]]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        # Keras 3's from_keras_model exports a temporary SavedModel and prints
        # its signature to stdout, the converter's C++ prints its settings and
        # warns about input statistics it does not need: keep that out of
        # edgeml's output (it is replayed if conversion fails).
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), \
                edgeml.native_stderr_muted(fds=(1, 2)):
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
            return bytes(converter.convert())
    except Exception as exc:  # ConverterError, ValueError, RuntimeError depending on the failing pass
        raise edgeml.EdgeMLError(f"TFLite INT8 conversion failed: {_converter_cause(exc)}: "
                                 "replace that layer with one TFLite quantizes to int8 builtins "
                                 "(Conv2D, DepthwiseConv2D, Dense, pooling, ReLU/ReLU6, Softmax)") from exc


def _converter_cause(exc: BaseException) -> str:
    """The converter's most telling line: the op it could not handle, when it names one."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for ln in lines:
        if re.search(r"'(tf|tfl)\.[A-Za-z0-9_]+'", ln) or "op" in ln.split():
            return ln[:300]
    return (lines[0] if lines else type(exc).__name__)[:300]
