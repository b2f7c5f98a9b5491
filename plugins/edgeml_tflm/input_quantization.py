"""Float features to the model's int8 input, with the parameters the compress stage stored.

The rule is the one TFLite's QUANTIZE op and C's ``roundf`` use, and the one
the compressor used for the reference outputs:
``q = clip(round_half_away_from_zero(float32(x) / float32(scale)) + zero_point, -128, 127)``.
The generated ``<prefix>_model_quantize_input()`` applies it on the device.
"""

from __future__ import annotations

import numpy as np

import edgeml


def quantize_input(x: np.ndarray, quant: edgeml.QuantParams | None) -> np.ndarray:
    if quant is None:
        raise edgeml.DataError("the compressed model has no input quantization parameters: "
                               "re-run the compress stage with a tflite-int8 compressor")
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise edgeml.DataError("the test split contains NaN or inf: fix the app's preprocess")
    v = x / np.float32(quant.scale)
    # Round half away from zero without adding 0.5, which float32 can round up.
    magnitude = np.floor(np.abs(v))
    magnitude += (np.abs(v) - magnitude) >= 0.5
    return np.clip(np.copysign(magnitude, v) + quant.zero_point, -128, 127).astype(np.int8)
