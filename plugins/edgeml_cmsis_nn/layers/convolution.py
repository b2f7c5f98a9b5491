"""CONV_2D and DEPTHWISE_CONV_2D as direct calls of the CMSIS-NN s8 kernel that CMSIS-NN's own wrapper
would pick for these shapes (``arm_convolve_wrapper_s8``, ``arm_depthwise_conv_wrapper_s8``).

The choice is made once, at export: the generated C calls the one kernel, so no dispatch runs per call
and the image links only the kernels the model uses (a wrapper drags every variant into flash).
Per-channel multipliers and shifts are TFLM's (``PopulateConvolutionQuantizationParams``), precomputed
into flash; TFLM computes them into its arena at ``Prepare``.
"""

from __future__ import annotations

import numpy as np

import edgeml
from edgeml_cmsis_nn.graph import activation_range
from edgeml_cmsis_nn.layers.base import Constant, Layer, Lowering
from edgeml_cmsis_nn.quantization import per_channel_multipliers

SAME, VALID = 0, 1


def padding(mode: int, in_size: int, filter_size: int, stride: int, dilation: int, out_size: int) -> int:
    """TFLM's ``ComputePaddingWithOffset``: the leading (top or left) padding; the trailing one may be 1 more."""
    if mode == VALID:
        return 0
    effective = (filter_size - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2


def dims(shape: tuple[int, ...]) -> str:
    n, h, w, c = shape
    return f"{{{n}, {h}, {w}, {c}}}"


def _common(lw: Lowering, depthwise: bool) -> dict:
    op, g = lw.op, lw.graph
    x, f = g.tensor(op.inputs[0]), g.tensor(op.inputs[1])
    bias = g.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    y = g.tensor(op.outputs[0])
    where = f"op {op.name} (layer {op.index})"
    if len(x.shape) != 4 or len(y.shape) != 4 or f.data is None:
        raise edgeml.IncompatibleError(f"{where} has a non-4D input or non-constant filter: use backend=tflm")
    if x.dtype != np.int8 or y.dtype != np.int8 or f.dtype != np.int8:
        raise edgeml.IncompatibleError(f"{where} is not int8 (input {x.dtype}, filter {f.dtype}, output {y.dtype}): "
                                       "only INT8 models compile to CMSIS-NN; use backend=tflm")
    if bias is not None and (bias.data is None or bias.dtype != np.int32):
        raise edgeml.IncompatibleError(f"{where} has a non-constant or non-int32 bias: use backend=tflm")
    if np.any(f.zero_point != 0):
        raise edgeml.IncompatibleError(f"{where} has a filter zero point: CMSIS-NN needs symmetric weights; "
                                       "use backend=tflm")
    o = op.options
    sh, sw = int(o["strideH"]), int(o["strideW"])
    dh, dw = int(o.get("dilationHFactor", 1)), int(o.get("dilationWFactor", 1))
    kh, kw = (f.shape[1], f.shape[2])
    ph = padding(int(o["padding"]), x.shape[1], kh, sh, dh, y.shape[1])
    pw = padding(int(o["padding"]), x.shape[2], kw, sw, dw, y.shape[2])
    out_c = y.shape[3]
    mult, shift = per_channel_multipliers(float(x.scale[0]), f.scale, float(y.scale[0]), out_c)
    lo, hi = activation_range(int(o.get("fusedActivationFunction", 0)), float(y.scale[0]), int(y.zero_point[0]))
    macs = int(np.prod(y.shape[:3])) * out_c * kh * kw * (1 if depthwise else x.shape[3])
    return dict(x=x, f=f, bias=bias, y=y, sh=sh, sw=sw, dh=dh, dw=dw, ph=ph, pw=pw, kh=kh, kw=kw, mult=mult,
                shift=shift, lo=lo, hi=hi, macs=macs, where=where)


def _constants(p: dict) -> list[Constant]:
    out = [Constant("weights", "int8_t", p["f"].data.reshape(-1), "weights")]
    if p["bias"] is not None:
        out.append(Constant("bias", "int32_t", p["bias"].data.reshape(-1), "bias"))
    out += [Constant("multiplier", "int32_t", p["mult"], "multiplier"),
            Constant("shift", "int32_t", p["shift"], "shift")]
    return out


def lower_conv(lw: Lowering) -> Layer:
    p = _common(lw, depthwise=False)
    x, f, y = p["x"], p["f"], p["y"]
    if f.shape[3] != x.shape[3]:
        raise edgeml.IncompatibleError(f"{p['where']} is a grouped convolution ({x.shape[3]} input channels, "
                                       f"filter depth {f.shape[3]}): CMSIS-NN s8 has no grouped conv; use backend=tflm")
    one_by_one = (p["ph"] == 0 and p["pw"] == 0 and p["kh"] == 1 and p["kw"] == 1 and p["dh"] == 1 and p["dw"] == 1)
    one_by_n = (x.shape[1] == 1 and p["dw"] == 1 and p["kh"] == 1 and (p["sw"] * x.shape[3]) % 4 == 0)
    if one_by_one and p["sh"] == 1 and p["sw"] == 1:
        kernel, extra = "arm_convolve_1x1_s8_fast", ""
    elif one_by_one:
        kernel, extra = "arm_convolve_1x1_s8", ""
    elif one_by_n:
        kernel, extra = "arm_convolve_1_x_n_s8", ""
    else:
        kernel, extra = "arm_convolve_s8", "NULL, "      # no upscale-dims (transpose conv only)
    if lw.options.get("wrappers"):
        kernel, extra = "arm_convolve_wrapper_s8", ""
    bias = "@bias@" if p["bias"] is not None else "NULL"
    body = f"""\
static const cmsis_nn_conv_params params = {{{-int(x.zero_point[0])}, {int(y.zero_point[0])}, {{{p['sw']}, {p['sh']}}}, {{{p['pw']}, {p['ph']}}}, {{{p['dw']}, {p['dh']}}}, {{{p['lo']}, {p['hi']}}}}};
static const cmsis_nn_per_channel_quant_params quant = {{(int32_t *)@multiplier@, (int32_t *)@shift@}};
static const cmsis_nn_dims in_dims = {dims(x.shape)}, filter_dims = {dims(f.shape)}, bias_dims = {{1, 1, 1, {y.shape[3]}}}, out_dims = {dims(y.shape)};
const cmsis_nn_context ctx = {{@scratch@, @scratch_size@}};
if ({kernel}(&ctx, &params, &quant, &in_dims, @in0@, &filter_dims, @weights@, &bias_dims, {bias}, {extra}&out_dims, @out0@) != ARM_CMSIS_NN_SUCCESS) return @fail@;
"""
    return Layer(op=lw.op, kernel=kernel, body=body, inputs=[x.index], outputs=[y.index], constants=_constants(p),
                 macs=p["macs"], scratch_query=_query(body, "arm_convolve_wrapper_s8_get_buffer_size"))


def lower_depthwise(lw: Lowering) -> Layer:
    p = _common(lw, depthwise=True)
    x, f, y = p["x"], p["f"], p["y"]
    ch_mult = y.shape[3] // x.shape[3]
    if ch_mult * x.shape[3] != y.shape[3]:
        raise edgeml.IncompatibleError(f"{p['where']}: {y.shape[3]} output channels is no multiple of "
                                       f"{x.shape[3]} inputs: use backend=tflm")
    plain = ch_mult == 1 and x.shape[0] == 1 and p["dh"] == 1 and p["dw"] == 1
    if plain and p["kh"] == 3 and p["kw"] == 3 and p["ph"] <= 1 and p["pw"] <= 1:
        kernel = "arm_depthwise_conv_3x3_s8"
    elif plain:
        kernel = "arm_depthwise_conv_s8_opt"
    else:
        kernel = "arm_depthwise_conv_s8"
    if lw.options.get("wrappers"):
        kernel = "arm_depthwise_conv_wrapper_s8"
    bias = "@bias@" if p["bias"] is not None else "NULL"
    call_args = (f"&ctx, &params, &quant, &in_dims, @in0@, &filter_dims, @weights@, &bias_dims, {bias}, "
                 "&out_dims, @out0@")
    # On an MVE core (Helium) CMSIS-NN's wrapper picks other kernels: keep its choice there.
    body = f"""\
static const cmsis_nn_dw_conv_params params = {{{-int(x.zero_point[0])}, {int(y.zero_point[0])}, {ch_mult}, {{{p['sw']}, {p['sh']}}}, {{{p['pw']}, {p['ph']}}}, {{{p['dw']}, {p['dh']}}}, {{{p['lo']}, {p['hi']}}}}};
static const cmsis_nn_per_channel_quant_params quant = {{(int32_t *)@multiplier@, (int32_t *)@shift@}};
static const cmsis_nn_dims in_dims = {dims(x.shape)}, filter_dims = {dims(f.shape)}, bias_dims = {{1, 1, 1, {y.shape[3]}}}, out_dims = {dims(y.shape)};
const cmsis_nn_context ctx = {{@scratch@, @scratch_size@}};
#if defined(ARM_MATH_MVEI)
if (arm_depthwise_conv_wrapper_s8({call_args}) != ARM_CMSIS_NN_SUCCESS) return @fail@;
#else
if ({kernel}({call_args}) != ARM_CMSIS_NN_SUCCESS) return @fail@;
#endif
"""
    return Layer(op=lw.op, kernel=kernel, body=body, inputs=[x.index], outputs=[y.index], constants=_constants(p),
                 macs=p["macs"], scratch_query=_query(body, "arm_depthwise_conv_wrapper_s8_get_buffer_size"))


def _query(body: str, function: str) -> str:
    """The scratch sizes CMSIS-NN's wrapper asks for with these params (its choice of kernel is ours)."""
    decls = [line for line in body.splitlines() if line.startswith("static const") and "quant =" not in line]
    args = "&params, &in_dims, &filter_dims, &out_dims"
    return "\n".join(decls + [f"plain = {function}({args});", f"dsp = {function}_dsp({args});",
                              f"mve = {function}_mve({args});"])
