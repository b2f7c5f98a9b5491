"""SOFTMAX (int8 in, int8 out) over the last axis, with TFLM's fixed-point params.

TFLM's ``CalculateSoftmaxParams`` (softmax_common.cc) for int8: ``PreprocessSoftmaxScaling`` with 5 integer
bits of scaled difference gives the input multiplier and left shift; ``diff_min`` is minus
``CalculateInputRadius``.

The arithmetic is ``arm_softmax_s8``'s (CMSIS-NN's bit-exact twin of TFLM's reference int8 softmax),
written out for the int8-output case only: ``arm_nn_softmax_common_s8`` also carries an int16-output
branch and inlines the fixed-point exponential four times, 3.6 KB of code on a Cortex-M4 for what is
usually a handful of classes. The generated function calls the same fixed-point helpers from CMSIS-NN's
``arm_nnsupportfunctions.h`` (``EXP_ON_NEG``, ``MUL_SAT``, ``ONE_OVER1``, ``DIV_POW2``, ``CLZ``) in the
same order, with the exponential behind one call, so it computes the same bits in a fraction of the
flash. ``backend.softmax: cmsis`` keeps CMSIS-NN's own function.
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
    if lw.options.get("wrappers") or lw.options.get("softmax") == "cmsis":
        body = f"arm_softmax_s8(@in0@, {rows}, {depth}, {mult}, {shift}, {diff_min}, @out0@);\n"
        return Layer(op=op, kernel="arm_softmax_s8", body=body, inputs=[x.index], outputs=[y.index],
                     info={"rows": rows, "depth": depth})
    body = f"edgeml_softmax_s8(@in0@, {rows}, {depth}, {mult}, {shift}, {diff_min}, @out0@);\n"
    return Layer(op=op, kernel="generated C (arm_softmax_s8 arithmetic, int8 output only)", body=body,
                 inputs=[x.index], outputs=[y.index], helpers={"edgeml_softmax_s8": SOFTMAX_C},
                 info={"rows": rows, "depth": depth})


SOFTMAX_C = """\
/* arm_nn_softmax_common_s8 (CMSIS-NN) for int8 output only: the same helpers in the same order. */
__attribute__((noinline)) static int32_t edgeml_softmax_exp(int32_t diff, int32_t mask, int32_t mult)
{
    return EXP_ON_NEG(MUL_SAT(diff * mask, mult));
}

static void edgeml_softmax_s8(const int8_t *input, int32_t num_rows, int32_t row_size, int32_t mult,
                              int32_t shift, int32_t diff_min, int8_t *output)
{
    const int32_t mask = (1 << shift);
    int32_t row, col;
    for (row = 0; row < num_rows; ++row, input += row_size, output += row_size)
    {
        int8_t max = input[0];
        int32_t sum = 0;
        for (col = 1; col < row_size; ++col)
            max = MAX(max, input[col]);
        for (col = 0; col < row_size; ++col)
        {
            const int32_t diff = input[col] - max;
            if (diff >= diff_min)
                sum += DIV_POW2(edgeml_softmax_exp(diff, mask, mult), 12);
        }
        {
            const int32_t headroom = CLZ(sum);
            const int32_t shifted_scale = ONE_OVER1((sum > 0 ? sum << headroom : 0) - (1 << 31));
            const int32_t bits_over_unit = 12 - headroom + 23;
            for (col = 0; col < row_size; ++col)
            {
                const int32_t diff = input[col] - max;
                if (diff >= diff_min)
                {
                    const int32_t res =
                        DIV_POW2(MUL_SAT(shifted_scale, edgeml_softmax_exp(diff, mask, mult)), bits_over_unit) +
                        NN_Q7_MIN;
                    output[col] = (int8_t)CLAMP(res, (int32_t)NN_Q7_MAX, (int32_t)NN_Q7_MIN);
                }
                else
                {
                    output[col] = NN_Q7_MIN;
                }
            }
        }
    }
}
"""
