"""MEAN of an int8 tensor over constant axes, as generated C bit-exact with TFLM.

CMSIS-NN has no MEAN kernel, so the body is plain C that replays TFLM's ``reference_ops::QuantizedMeanOrSum``
(reduce_common.cc ``EvalMean`` -> int8): an int32 sum per output element, minus ``input_zp * n``, then
``MultiplyByQuantizedMultiplier`` with the multiplier TFLM derives at Eval time (``1/n`` folded into it, see
:func:`edgeml_cmsis_nn.quantization.mean_multiplier`), plus the output zero point, clamped to int8. The sum
is exact integer arithmetic, so its order does not matter; we sum in whatever order reads memory best.

Everything that depends only on shapes is resolved at export: size-1 dimensions are dropped and runs of
adjacent kept (or reduced) dimensions merged, so ``[1,H,W,C]`` over axes ``[1,2]`` (global average pooling)
becomes two loops: ``C`` outputs, each summing ``H*W`` inputs ``C`` apart. ``keep_dims`` changes only the
output shape, never the element order, so both values are handled alike.
"""

from __future__ import annotations

import numpy as np

from edgeml_cmsis_nn.layers.base import Layer, Lowering
from edgeml_cmsis_nn.layers.op_checks import refuse as _refuse
from edgeml_cmsis_nn.quantization import MBQM_HELPER, MBQM_HELPER_C, mean_multiplier


def _groups(shape: tuple[int, ...], reduced: set[int]) -> list[tuple[int, int, bool]]:
    """(size, element stride, reduced?) of the merged runs of ``shape``, outermost first."""
    runs: list[list] = []   # [size, reduced]
    for d, n in enumerate(shape):
        if n == 1:
            continue
        r = d in reduced
        if runs and runs[-1][1] == r:
            runs[-1][0] *= n
        else:
            runs.append([n, r])
    out = []
    stride = 1
    for size, r in reversed(runs):
        out.append((size, stride, r))
        stride *= size
    return list(reversed(out))


def lower_mean(lw: Lowering) -> Layer:
    op, g = lw.op, lw.graph
    if len(op.inputs) < 2 or len(op.outputs) != 1:
        raise _refuse(op, "MEAN needs an input, an axis operand and one output")
    x, axes_t, y = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
    if x.dtype != np.int8 or y.dtype != np.int8:
        raise _refuse(op, f"MEAN is lowered for int8 only, not {x.dtype}->{y.dtype}")
    if not axes_t.is_constant:
        raise _refuse(op, "the MEAN axes are computed at run time, not a constant")
    if x.scale.size != 1 or y.scale.size != 1:
        raise _refuse(op, "MEAN needs per-tensor quantization of its input and output")
    if any(n <= 0 for n in x.shape):
        raise _refuse(op, f"MEAN input shape {x.shape} has an empty or unknown dimension")
    rank = len(x.shape)
    reduced: set[int] = set()
    for a in np.asarray(axes_t.data).reshape(-1).tolist():
        a = int(a) + rank if int(a) < 0 else int(a)
        if not 0 <= a < rank:
            raise _refuse(op, f"MEAN axis {a} is outside the input's rank {rank}")
        reduced.add(a)
    n = int(np.prod([x.shape[d] for d in sorted(reduced)])) if reduced else 1
    n_out = x.size // n
    if y.size != n_out:
        raise _refuse(op, f"MEAN output shape {y.shape} does not match input {x.shape} over axes {sorted(reduced)}")
    mult, shift = mean_multiplier(float(x.scale[0]), float(y.scale[0]), n)
    in_zp, out_zp = int(x.zero_point[0]), int(y.zero_point[0])
    offset = in_zp * n                         # TFLM: temp_sum - input_zero_point * num_elements_in_axis
    if not -(1 << 31) <= offset < (1 << 31) or 255 * n >= (1 << 31):
        raise _refuse(op, f"MEAN over {n} elements overflows TFLM's int32 sum")

    groups = _groups(x.shape, reduced)
    kept = [(s, st) for s, st, r in groups if not r]
    red = [(s, st) for s, st, r in groups if r]
    lines = ["{", "    int8_t *dst = @out0@;"]
    ind = "    "
    base_terms = []
    for i, (size, stride) in enumerate(kept):
        lines.append(f"{ind}for (int32_t k{i} = 0; k{i} < {size}; ++k{i}) {{")
        ind += "    "
        base_terms.append(f"k{i} * {stride}" if stride != 1 else f"k{i}")
    base = " + ".join(base_terms) if base_terms else "0"
    lines.append(f"{ind}const int8_t *src = @in0@ + ({base});")
    lines.append(f"{ind}int32_t sum = 0;")
    inner = ind
    red_terms = []
    for j, (size, stride) in enumerate(red):
        lines.append(f"{inner}for (int32_t r{j} = 0; r{j} < {size}; ++r{j}) {{")
        inner += "    "
        red_terms.append(f"r{j} * {stride}" if stride != 1 else f"r{j}")
    lines.append(f"{inner}sum += src[{' + '.join(red_terms) if red_terms else '0'}];")
    for _ in red:
        inner = inner[:-4]
        lines.append(f"{inner}}}")
    lines.append(f"{ind}{{")
    lines.append(f"{ind}    int32_t v = {MBQM_HELPER}(sum - ({offset}), {mult}, {shift}) + ({out_zp});")
    lines.append(f"{ind}    *dst++ = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));")
    lines.append(f"{ind}}}")
    for _ in kept:
        ind = ind[:-4]
        lines.append(f"{ind}}}")
    lines.append("}")
    return Layer(op=op, kernel="generated C", body="\n".join(lines) + "\n", inputs=[op.inputs[0]],
                 outputs=[op.outputs[0]], macs=x.size, helpers={MBQM_HELPER: MBQM_HELPER_C},
                 info={"variant": f"{n_out} outputs x {n} summed", "multiplier": mult, "shift": shift,
                       "keep_dims": bool(op.options.get("keepDims", False))})
