"""ADD of two int8 tensors of the same shape, through CMSIS-NN's ``arm_elementwise_add_s8``.

The quantization is TFLM's (add_common.cc ``CalculateOpDataAdd``, see
:func:`edgeml_cmsis_nn.quantization.add_multipliers`): inputs offset by their zero points, shifted left by 20,
rescaled to a common scale, summed, rescaled to the output, clamped to the fused activation. TFLM's
reference ``AddFunc`` and ``arm_elementwise_add_s8`` do the same integer steps with the same double-rounding
requantization (TFLM's own CMSIS-NN kernel calls this function with these parameters).

Broadcasting (inputs of different shapes) is refused: CMSIS-NN's kernel is element-wise only.
"""

from __future__ import annotations

from edgeml_cmsis_nn.graph import activation_range
from edgeml_cmsis_nn.layers.base import Layer, Lowering
from edgeml_cmsis_nn.layers.op_checks import per_tensor, refuse, require_int8
from edgeml_cmsis_nn.quantization import ADD_LEFT_SHIFT, add_multipliers


def lower_add(lw: Lowering) -> Layer:
    op, g = lw.op, lw.graph
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise refuse(op, "ADD needs two inputs and one output")
    a, b, y = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    require_int8(op, a, b, y)
    if a.is_constant or b.is_constant:
        raise refuse(op, "ADD of a constant tensor is not lowered")
    if tuple(a.shape) != tuple(b.shape) or a.size != y.size:
        raise refuse(op, f"ADD broadcasts {a.shape} with {b.shape} (only same-shape ADD is lowered)")
    sa, za = per_tensor(op, a)
    sb, zb = per_tensor(op, b)
    so, zo = per_tensor(op, y)
    try:
        (m1, s1), (m2, s2), (mo, so_shift) = add_multipliers(sa, sb, so)
    except ValueError as exc:
        raise refuse(op, f"its scales give no TFLM requantization ({exc})") from exc
    act_min, act_max = activation_range(int(op.options.get("fusedActivationFunction", 0)), so, zo)
    body = "\n".join([
        f"    if (arm_elementwise_add_s8(@in0@, @in1@, {-za}, {m1}, {s1}, {-zb}, {m2}, {s2}, {ADD_LEFT_SHIFT},",
        f"            @out0@, {zo}, {mo}, {so_shift}, {act_min}, {act_max}, {y.size}) != ARM_CMSIS_NN_SUCCESS) {{",
        "        return @fail@;",
        "    }",
    ]) + "\n"
    return Layer(op=op, kernel="arm_elementwise_add_s8", body=body, inputs=[op.inputs[0], op.inputs[1]],
                 outputs=[op.outputs[0]], macs=y.size, info={"elements": y.size})
