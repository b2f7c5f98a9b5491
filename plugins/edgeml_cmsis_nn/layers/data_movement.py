"""Ops that only move int8 bytes: CONCATENATION, STRIDED_SLICE, PAD / PADV2, as plain C with constant
bounds (``memcpy`` for every contiguous run).

None of them does arithmetic in TFLM's int8 kernels: CONCATENATION requires every input to share the output's
scale and zero point (TFLM's Prepare rejects anything else, so do we), STRIDED_SLICE and PAD copy bytes as
they are, PAD fills with the output zero point (PADV2: its constant value).

STRIDED_SLICE's index rules (negative indices, begin/end masks, shrink mask, clamping; TFLM ignores the
ellipsis and new-axis masks) are not re-derived: the slice is asked of TFLM itself at export, on an int32
``arange`` of the input's shape (:mod:`edgeml_cmsis_nn.layers.tflm_probe`), which answers with the input
position of every output element. That map is affine in the output index; the lowering checks that it is,
folds it into as few nested loops as it can and copies each contiguous run with ``memcpy``.
"""

from __future__ import annotations

import numpy as np

from edgeml_cmsis_nn.layers.base import Constant, Layer, Lowering
from edgeml_cmsis_nn.layers.op_checks import per_tensor, refuse, require_constant, require_int8
from edgeml_cmsis_nn.layers.tflm_probe import as_graph_tensor, probe_model, run_probe


def _unique_inputs(op_inputs: list[int]) -> tuple[list[int], list[int]]:
    """(distinct tensors in first-use order, each op input's position among them)."""
    distinct: list[int] = []
    where = []
    for t in op_inputs:
        if t not in distinct:
            distinct.append(t)
        where.append(distinct.index(t))
    return distinct, where


# --- CONCATENATION -----------------------------------------------------------------------------------------

def lower_concatenation(lw: Lowering) -> Layer:
    op, g = lw.op, lw.graph
    if not op.inputs or len(op.outputs) != 1:
        raise refuse(op, "CONCATENATION needs inputs and one output")
    y = g.tensor(op.outputs[0])
    xs = [g.tensor(i) for i in op.inputs]
    require_int8(op, y, *xs)
    if int(op.options.get("fusedActivationFunction", 0)) != 0:
        raise refuse(op, "a fused activation on CONCATENATION (TFLM rejects it)")
    out_scale, out_zp = per_tensor(op, y)
    for x in xs:
        s, z = per_tensor(op, x)
        if np.float32(s) != np.float32(out_scale) or z != out_zp:
            raise refuse(op, f"input '{x.name}' is quantized ({s}, {z}), the output ({out_scale}, {out_zp}): "
                             "TFLM's int8 CONCATENATION requires them equal")
    rank = len(y.shape)
    axis = int(op.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank or any(len(x.shape) != rank for x in xs):
        raise refuse(op, f"axis {op.options.get('axis')} or input ranks do not fit the output shape {y.shape}")
    for x in xs:
        if any(x.shape[d] != y.shape[d] for d in range(rank) if d != axis):
            raise refuse(op, f"input shape {x.shape} does not match output {y.shape} off axis {axis}")
    if sum(x.shape[axis] for x in xs) != y.shape[axis]:
        raise refuse(op, f"inputs do not add up to the output's {y.shape[axis]} along axis {axis}")
    outer = int(np.prod(y.shape[:axis])) if axis else 1
    activations, where = _unique_inputs([x.index for x in xs if not x.is_constant])
    constants = []
    sources = []
    k_act = 0
    for n, x in enumerate(xs):
        chunk = int(np.prod(x.shape[axis:]))
        if x.is_constant:
            name = f"const{n}"
            constants.append(Constant(name, "int8_t", np.asarray(x.data, dtype=np.int8), "other"))
            sources.append((f"@{name}@", chunk))
        else:
            sources.append((f"@in{where[k_act]}@", chunk))
            k_act += 1
    lines = ["    {", "        int8_t *dst = @out0@;"]
    if outer == 1:
        for src, chunk in sources:
            if chunk:
                lines += [f"        memcpy(dst, {src}, {chunk});", f"        dst += {chunk};"]
    else:
        lines.append(f"        for (int32_t o = 0; o < {outer}; ++o) {{")
        for src, chunk in sources:
            if chunk:
                lines += [f"            memcpy(dst, {src} + o * {chunk}, {chunk});", f"            dst += {chunk};"]
        lines.append("        }")
    lines += ["        (void)dst;", "    }"]
    return Layer(op=op, kernel="generated C", body="\n".join(lines) + "\n", inputs=activations,
                 outputs=[op.outputs[0]], constants=constants,
                 info={"axis": axis, "outer": outer, "chunks": [c for _, c in sources]})


# --- STRIDED_SLICE -----------------------------------------------------------------------------------------

def _affine(out_shape: tuple[int, ...], index_map: np.ndarray) -> tuple[int, list[tuple[int, int]]] | None:
    """``index_map`` (input position of each output element, row-major) as ``base + sum(o_k * stride_k)``:
    (base, [(size, stride)...]) with size-1 dimensions dropped and mergeable ones merged; None if not affine."""
    shape = [int(d) for d in out_shape]
    m = np.asarray(index_map, dtype=np.int64).reshape(shape if shape else ())
    base = int(m.reshape(-1)[0])
    dims = []
    for k, n in enumerate(shape):
        if n == 1:
            continue
        step = [0] * len(shape)
        step[k] = 1
        dims.append((k, n, int(m[tuple(step)]) - base))
    expect = np.full(shape if shape else (), base, dtype=np.int64)
    for k, n, s in dims:
        view = [1] * len(shape)
        view[k] = n
        expect = expect + (np.arange(n, dtype=np.int64) * s).reshape(view)
    if not np.array_equal(expect, m):
        return None
    merged: list[list[int]] = []
    for _, n, s in dims:
        if merged and merged[-1][1] == s * n:
            merged[-1] = [merged[-1][0] * n, s]
        else:
            merged.append([n, s])
    return base, [(n, s) for n, s in merged]


def gather_loops_c(base: int, dims: list[tuple[int, int]]) -> list[str]:
    """C statements copying ``src[base + sum(i_k * stride_k)]`` to consecutive ``dst`` bytes."""
    lines = ["    {", f"        const int8_t *src = @in0@ + {base};", "        int8_t *dst = @out0@;"]
    if not dims:
        return lines + ["        *dst = *src;", "    }"]
    *outer, (n_in, s_in) = dims
    ind = "        "
    terms = []
    for k, (n, s) in enumerate(outer):
        lines.append(f"{ind}for (int32_t i{k} = 0; i{k} < {n}; ++i{k}) {{")
        ind += "    "
        terms.append(f"i{k} * {s}")
    row = f"src + ({' + '.join(terms)})" if terms else "src"
    if s_in == 1:
        lines.append(f"{ind}memcpy(dst, {row}, {n_in});")
    else:
        lines += [f"{ind}{{", f"{ind}    const int8_t *row = {row};",
                  f"{ind}    for (int32_t j = 0; j < {n_in}; ++j) {{", f"{ind}        dst[j] = row[j * {s_in}];",
                  f"{ind}    }}", f"{ind}}}"]
    lines.append(f"{ind}dst += {n_in};")
    for _ in outer:
        ind = ind[:-4]
        lines.append(f"{ind}}}")
    return lines + ["        (void)dst;", "    }"]


def lower_strided_slice(lw: Lowering) -> Layer:
    op, g = lw.op, lw.graph
    if len(op.inputs) != 4 or len(op.outputs) != 1:
        raise refuse(op, "STRIDED_SLICE needs input, begin, end, strides and one output")
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    require_int8(op, x, y)
    for i, what in zip(op.inputs[1:], ("begin", "end", "strides")):
        require_constant(op, g.tensor(i), what)
    if y.size == 0:
        raise refuse(op, "the slice is empty")
    i32 = np.dtype(np.int32)
    tflite = probe_model(
        op, [as_graph_tensor(g, op.inputs[0], dtype=i32, scale=(), zero_point=(), data=None)]
        + [as_graph_tensor(g, i) for i in op.inputs[1:]],
        [as_graph_tensor(g, op.outputs[0], dtype=i32, scale=(), zero_point=())])
    index_map = run_probe(op, tflite, [np.arange(x.size, dtype=np.int32).reshape(x.shape)])
    if index_map.size != y.size:
        raise refuse(op, f"TFLM's slice has {index_map.size} elements, the graph's output {y.size}")
    folded = _affine(y.shape, index_map)
    if folded is None:
        raise refuse(op, "the slice TFLM computes is not a strided box")
    base, dims = folded
    body = "\n".join(gather_loops_c(base, dims)) + "\n"
    return Layer(op=op, kernel="generated C", body=body, inputs=[op.inputs[0]], outputs=[op.outputs[0]],
                 info={"variant": "index map from TFLM at export", "base": base,
                       "loops": [list(d) for d in dims]})


# --- PAD / PADV2 -------------------------------------------------------------------------------------------

def lower_pad(lw: Lowering) -> Layer:
    op, g = lw.op, lw.graph
    if len(op.inputs) not in (2, 3) or len(op.outputs) != 1:
        raise refuse(op, "PAD needs input, paddings (and a constant value) and one output")
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    require_int8(op, x, y)
    pads = require_constant(op, g.tensor(op.inputs[1]), "paddings").astype(np.int64).reshape(-1, 2)
    rank = len(x.shape)
    if pads.shape[0] != rank or len(y.shape) != rank:
        raise refuse(op, f"paddings {pads.tolist()} do not fit the input rank {rank}")
    if (pads < 0).any():
        raise refuse(op, f"negative paddings {pads.tolist()}")
    if any(int(y.shape[d]) != int(x.shape[d] + pads[d, 0] + pads[d, 1]) for d in range(rank)):
        raise refuse(op, f"output shape {y.shape} is not the input {x.shape} padded by {pads.tolist()}")
    _, out_zp = per_tensor(op, y)
    if len(op.inputs) == 3 and op.inputs[2] >= 0:
        cv = g.tensor(op.inputs[2])
        require_int8(op, cv)
        value = int(require_constant(op, cv, "constant value").reshape(-1)[0])
    else:
        value = out_zp
    if not -128 <= value <= 127:
        raise refuse(op, f"pad value {value} is not an int8")
    in_shape = [int(d) for d in x.shape]
    out_shape = [int(d) for d in y.shape]
    out_strides = [int(np.prod(out_shape[d + 1:])) for d in range(rank)]
    # the innermost dimensions without padding are one contiguous run in both tensors
    j = rank - 1
    while j > 0 and pads[j].sum() == 0:
        j -= 1
    run = int(np.prod(in_shape[j:])) if rank else 1
    base = int(sum(int(pads[d, 0]) * out_strides[d] for d in range(rank)))
    lines = ["    {", "        const int8_t *src = @in0@;", "        int8_t *dst = @out0@;",
             f"        memset(dst, {value}, {y.size});"]
    if x.size:
        ind = "        "
        terms = []
        loops = [k for k in range(j) if in_shape[k] > 1]
        for k in loops:
            lines.append(f"{ind}for (int32_t i{k} = 0; i{k} < {in_shape[k]}; ++i{k}) {{")
            ind += "    "
            terms.append(f"i{k} * {out_strides[k]}")
        off = " + ".join([str(base)] + terms)
        lines += [f"{ind}memcpy(dst + ({off}), src, {run});", f"{ind}src += {run};"]
        for _ in loops:
            ind = ind[:-4]
            lines.append(f"{ind}}}")
    lines += ["        (void)src;", "    }"]
    return Layer(op=op, kernel="generated C", body="\n".join(lines) + "\n", inputs=[op.inputs[0]],
                 outputs=[op.outputs[0]], info={"paddings": pads.tolist(), "pad_value": value, "run": run})
