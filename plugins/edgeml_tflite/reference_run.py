"""The reference outputs: the test split through TFLite's reference kernels.

``BUILTIN_REF`` kernels are the ones TFLM's arithmetic matches (CONV_2D,
DEPTHWISE_CONV_2D, MEAN, pooling and SOFTMAX bit for bit); the default
XNNPACK path differs on most inputs and is no reference for device parity.
"""

from __future__ import annotations

import numpy as np

import edgeml



def run_reference(tflite_bytes: bytes, input_quant: edgeml.QuantParams, x_test: np.ndarray,
                  progress: edgeml.Progress) -> np.ndarray:
    """Raw int8 outputs, one row per test example, from one-example invocations."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=tflite_bytes,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    if tuple(inp["shape"][1:]) != tuple(x_test.shape[1:]):
        raise edgeml.DataError(f"test inputs have shape {x_test.shape[1:]} but the model expects "
                               f"{tuple(inp['shape'][1:])}: re-run preprocess and train together")
    if not np.isfinite(x_test).all():
        raise edgeml.DataError("the test split contains NaN or inf: fix the app's preprocess")
    q = input_quant.quantize(x_test)
    n = len(q)
    rows = np.empty((n, *out["shape"][1:]), dtype=np.int8)
    step = max(1, n // 100)
    for i in range(n):
        interpreter.set_tensor(inp["index"], q[i:i + 1])
        interpreter.invoke()
        rows[i] = interpreter.get_tensor(out["index"])[0]
        if (i + 1) % step == 0 or i + 1 == n:
            progress.update(i + 1, n, "tflite reference (BUILTIN_REF)")
    return rows


def reference_name() -> str:
    """The runtime that produced the outputs, with its version, for the report."""
    from importlib.metadata import version

    return f"TFLite reference kernels (BUILTIN_REF, ai-edge-litert {version('ai-edge-litert')})"
