"""AVERAGE_POOL_2D and MAX_POOL_2D on int8 NHWC tensors, through CMSIS-NN's ``arm_avgpool_s8`` and
``arm_max_pool_s8``.

Both match TFLM's reference kernels (reference_integer_ops::AveragePool / MaxPool) exactly: windows are
clipped to the input (padding never enters an average), the average of the int8 values (zero points are
ignored, input and output share them) is rounded half away from zero by integer division, and the fused
activation clamps. The padding is TFLM's ``ComputePaddingHeightWidth``; both kernels take the batch count.

Scratch: ``arm_avgpool_s8`` needs ``4 * channels`` bytes on cores with the DSP extension and none on the
portable or Helium paths. The layer's ``scratch_query`` asks CMSIS-NN's own size functions for all three
(the compiler keeps what the target core needs); ``scratch_bytes`` states the conservative maximum over
them (``4 * channels``, the DSP size). ``arm_max_pool_s8`` needs none.
"""

from __future__ import annotations

import numpy as np

from edgeml_cmsis_nn.graph import activation_range
from edgeml_cmsis_nn.layers.base import Layer, Lowering
from edgeml_cmsis_nn.layers.op_checks import padding_and_out_size, per_tensor, refuse, require_int8


def _lower_pool(lw: Lowering, kernel: str) -> Layer:
    op, g = lw.op, lw.graph
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise refuse(op, "a pooling op needs one input and one output")
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    require_int8(op, x, y)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise refuse(op, f"pooling needs 4-D NHWC tensors, not {x.shape} -> {y.shape}")
    in_scale, in_zp = per_tensor(op, x)
    out_scale, out_zp = per_tensor(op, y)
    if abs(float(np.float32(in_scale) - np.float32(out_scale))) > 1e-6 or in_zp != out_zp:
        raise refuse(op, "input and output quantization differ (TFLM rejects this too)")
    o = op.options
    fh, fw = int(o.get("filterHeight", 0)), int(o.get("filterWidth", 0))
    sh, sw = int(o.get("strideH", 0)), int(o.get("strideW", 0))
    if min(fh, fw, sh, sw) <= 0:
        raise refuse(op, f"filter {fh}x{fw} / stride {sh}x{sw} are not positive")
    n, ih, iw, c = (int(d) for d in x.shape)
    oh, ph = padding_and_out_size(int(o.get("padding", 0)), ih, fh, sh)
    ow, pw = padding_and_out_size(int(o.get("padding", 0)), iw, fw, sw)
    if tuple(int(d) for d in y.shape) != (n, oh, ow, c):
        raise refuse(op, f"output shape {y.shape} is not the ({n}, {oh}, {ow}, {c}) TFLM computes")
    act_min, act_max = activation_range(int(o.get("fusedActivationFunction", 0)), out_scale, out_zp)
    scratch = 4 * c if kernel == "arm_avgpool_s8" else 0
    ctx = "{@scratch@, @scratch_size@}" if scratch else "{NULL, 0}"
    body = "\n".join([
        "    {",
        f"        const cmsis_nn_context ctx = {ctx};",
        f"        const cmsis_nn_pool_params pool = {{{{{sw}, {sh}}}, {{{pw}, {ph}}}, {{{act_min}, {act_max}}}}};",
        f"        const cmsis_nn_dims input_dims = {{{n}, {ih}, {iw}, {c}}};",
        f"        const cmsis_nn_dims filter_dims = {{1, {fh}, {fw}, 1}};",
        f"        const cmsis_nn_dims output_dims = {{{n}, {oh}, {ow}, {c}}};",
        f"        if ({kernel}(&ctx, &pool, &input_dims, @in0@, &filter_dims, &output_dims, @out0@)"
        " != ARM_CMSIS_NN_SUCCESS) {",
        "            return @fail@;",
        "        }",
        "    }",
    ]) + "\n"
    info = {"filter": [fh, fw], "stride": [sh, sw], "padding": [ph, pw]}
    if scratch:
        info["scratch"] = "4 x channels: the DSP size, the maximum over portable/DSP/MVE builds"
    query = ""
    if scratch:
        query = "\n".join(f"{v} = arm_avgpool_s8_get_buffer_size{suffix}({ow}, {c});"
                          for v, suffix in (("plain", ""), ("dsp", "_dsp"), ("mve", "_mve")))
    return Layer(op=op, kernel=kernel, body=body, inputs=[op.inputs[0]], outputs=[op.outputs[0]],
                 scratch_bytes=scratch, macs=n * oh * ow * c * fh * fw, info=info, scratch_query=query)


def lower_average_pool(lw: Lowering) -> Layer:
    return _lower_pool(lw, "arm_avgpool_s8")


def lower_max_pool(lw: Lowering) -> Layer:
    return _lower_pool(lw, "arm_max_pool_s8")
