"""FULLY_CONNECTED (int8 weights, int32 bias) through CMSIS-NN's ``arm_fully_connected_s8``, or
``arm_fully_connected_per_channel_s8`` when the weights carry one scale per output unit.

The requantization is TFLM's (fully_connected_common.cc ``CalculateOpDataFullyConnected``): per tensor, the
float32 product of the input and filter scales widened to double, divided by the output scale; per channel,
``double(input_scale) * double(filter_scale) / double(output_scale)``. CMSIS-NN's portable, DSP and MVE
paths all compute ``sum((x + input_offset) * w) + bias`` exactly in int32 and requantize with the same
double rounding as TFLM's reference kernel, so the result is bit-exact.

The kernel sums (``bias[r] + input_offset * sum_k w[r][k]``, what ``arm_vector_sum_s8`` would compute) are
precomputed at export into a const int32 array in flash and handed to the kernel as ``ctx.buf``: the Helium
(MVE) path requires them and would otherwise need an arena scratch and a pass over the weights per
inference (TFLM does that pass at init, into its persistent arena); the DSP and portable paths ignore them.
So the layer needs no arena scratch on any core.

A higher-rank input is read as ``[batches, depth]`` with ``batches`` the output's size without its last
dimension (TFLM's ``FlatSizeSkipDim``), which covers ``keep_num_dims`` too.
"""

from __future__ import annotations

import numpy as np

from edgeml_cmsis_nn.graph import activation_range
from edgeml_cmsis_nn.layers.base import Constant, Layer, Lowering
from edgeml_cmsis_nn.layers.op_checks import per_tensor, refuse, require_constant, require_int8
from edgeml_cmsis_nn.quantization import fully_connected_multiplier, per_channel_multipliers


def _wrap32(v: np.ndarray) -> np.ndarray:
    """int64 values to int32 with two's-complement wrap, as the int32 arithmetic of arm_vector_sum_s8."""
    return ((np.asarray(v, dtype=np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


def lower_fully_connected(lw: Lowering) -> Layer:
    op, g = lw.op, lw.graph
    if len(op.inputs) < 2 or len(op.outputs) != 1:
        raise refuse(op, "FULLY_CONNECTED needs an input, weights and one output")
    x, w, y = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    b = g.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    require_int8(op, x, w, y)
    weights = require_constant(op, w, "weight matrix")
    if weights.ndim != 2:
        raise refuse(op, f"weights of shape {w.shape} are not a 2-D [units, depth] matrix")
    if op.options.get("weightsFormat", 0) not in (0, None):
        raise refuse(op, "shuffled FULLY_CONNECTED weights are not supported")
    units, depth = (int(d) for d in weights.shape)
    in_scale, in_zp = per_tensor(op, x)
    out_scale, out_zp = per_tensor(op, y)
    if not y.shape or int(y.shape[-1]) != units:
        raise refuse(op, f"output shape {y.shape} does not end in the {units} units")
    batches = y.size // units
    if x.size != batches * depth:
        raise refuse(op, f"input shape {x.shape} is not {batches} rows of depth {depth}")
    if np.any(w.zero_point != 0):
        raise refuse(op, "the weights have a non-zero zero point (TFLM requires symmetric int8 weights)")
    if b is not None:
        if np.dtype(b.dtype) != np.int32:
            raise refuse(op, f"bias is {np.dtype(b.dtype).name}, not int32")
        bias = require_constant(op, b, "bias").reshape(-1).astype(np.int64)
        if bias.size != units:
            raise refuse(op, f"bias has {bias.size} values for {units} units")
    else:
        bias = np.zeros(units, dtype=np.int64)
    act_min, act_max = activation_range(int(op.options.get("fusedActivationFunction", 0)), out_scale, out_zp)

    input_offset = -in_zp
    kernel_sum = _wrap32(bias + input_offset * weights.astype(np.int64).sum(axis=1))
    constants = [Constant("weights", "int8_t", weights.astype(np.int8), "weights"),
                 Constant("kernel_sum", "int32_t", kernel_sum, "kernel_sum")]
    bias_arg = "NULL"
    if b is not None:
        constants.append(Constant("bias", "int32_t", bias.astype(np.int32), "bias"))
        bias_arg = "@bias@"

    per_channel = w.scale.size > 1
    if per_channel:
        if w.scale.size != units or w.quantized_dimension != 0:
            raise refuse(op, f"weights quantized along dimension {w.quantized_dimension} with {w.scale.size} "
                             f"scales, not one per unit")
        mult, shift = per_channel_multipliers(in_scale, w.scale, out_scale, units)
        constants += [Constant("multiplier", "int32_t", mult, "multiplier"),
                      Constant("shift", "int32_t", shift, "shift")]
        kernel = "arm_fully_connected_per_channel_s8"
        quant = ("        const cmsis_nn_per_channel_quant_params quant = "
                 "{(int32_t *)@multiplier@, (int32_t *)@shift@};")
    else:
        m, s = fully_connected_multiplier(in_scale, float(w.scale[0]), out_scale)
        kernel = "arm_fully_connected_s8"
        quant = f"        const cmsis_nn_per_tensor_quant_params quant = {{{m}, {s}}};"
    body = "\n".join([
        "    {",
        f"        /* kernel sums precomputed at export (flash): {units} x int32 */",
        f"        const cmsis_nn_context ctx = {{(void *)@kernel_sum@, {4 * units}}};",
        f"        const cmsis_nn_fc_params fc = {{{input_offset}, 0, {out_zp}, {{{act_min}, {act_max}}}}};",
        quant,
        f"        const cmsis_nn_dims input_dims = {{{batches}, 1, 1, {depth}}};",
        f"        const cmsis_nn_dims filter_dims = {{{depth}, 1, 1, {units}}};",
        f"        const cmsis_nn_dims bias_dims = {{1, 1, 1, {units}}};",
        f"        const cmsis_nn_dims output_dims = {{{batches}, 1, 1, {units}}};",
        f"        if ({kernel}(&ctx, &fc, &quant, &input_dims, @in0@, &filter_dims, @weights@, &bias_dims,",
        f"                {bias_arg}, &output_dims, @out0@) != ARM_CMSIS_NN_SUCCESS) {{",
        "            return @fail@;",
        "        }",
        "    }",
    ]) + "\n"
    return Layer(op=op, kernel=kernel, body=body, inputs=[op.inputs[0]], outputs=[op.outputs[0]],
                 constants=constants, macs=batches * units * depth,
                 info={"variant": "per-channel" if per_channel else "per-tensor",
                       "kernel_sum": "precomputed at export (flash, no arena scratch)",
                       "batches": batches, "depth": depth, "units": units})
