"""SOFTMAX (int8 in, int8 out) as ``arm_softmax_s8`` over the last axis, with TFLM's fixed-point params.

TFLM's ``CalculateSoftmaxParams`` (softmax_common.cc) for int8: ``PreprocessSoftmaxScaling`` with 5 integer
bits of scaled difference gives the input multiplier and left shift; ``diff_min`` is minus
``CalculateInputRadius``. ``arm_softmax_s8`` is CMSIS-NN's bit-exact twin of TFLM's reference int8 softmax.
"""

from __future__ import annotations

import math

import numpy as np

import edgeml
from edgeml_cmsis_nn.layers.base import Layer, Lowering
from edgeml_cmsis_nn.quantization import quantize_multiplier

SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input multiplier, input left shift, diff_min) exactly as TFLM computes them."""
    real = min(float(beta) * float(np.float32(input_scale)) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               float((1 << 31) - 1.0))
    mult, shift = quantize_multiplier(real)
    if shift < 0:
        raise ValueError("softmax input multiplier below one")
    radius = ((1 << SCALED_DIFF_INTEGER_BITS) - 1) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)) / float(1 << shift)
    return mult, shift, -int(math.floor(radius))


def lower_softmax(lw: Lowering) -> Layer:
    op, g = lw.op, lw.graph
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    if x.dtype != np.int8 or y.dtype != np.int8:
        raise edgeml.IncompatibleError(f"op SOFTMAX (layer {op.index}) is {x.dtype} to {y.dtype}, not int8 to int8: "
                                       "use backend=tflm")
    mult, shift, diff_min = softmax_params(float(op.options.get("beta", 1.0)), float(x.scale[0]))
    depth = int(x.shape[-1])
    rows = x.size // depth
    body = f"arm_softmax_s8(@in0@, {rows}, {depth}, {mult}, {shift}, {diff_min}, @out0@);\n"
    return Layer(op=op, kernel="arm_softmax_s8", body=body, inputs=[x.index], outputs=[y.index],
                 info={"rows": rows, "depth": depth})
