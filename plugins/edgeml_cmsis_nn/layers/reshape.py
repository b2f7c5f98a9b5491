"""RESHAPE, SQUEEZE and EXPAND_DIMS: the same bytes under another shape, so no code at all: the output is
the input's memory (the memory plan gives both one buffer)."""

from __future__ import annotations

import edgeml
from edgeml_cmsis_nn.layers.base import Layer, Lowering


def lower_reshape(lw: Lowering) -> Layer:
    op, g = lw.op, lw.graph
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    if x.nbytes != y.nbytes or x.dtype != y.dtype:
        raise edgeml.IncompatibleError(f"op {op.name} (layer {op.index}) changes the size or type of its tensor "
                                       f"({x.shape} {x.dtype} to {y.shape} {y.dtype}): use backend=tflm")
    if x.scale.tolist() != y.scale.tolist() or x.zero_point.tolist() != y.zero_point.tolist():
        raise edgeml.IncompatibleError(f"op {op.name} (layer {op.index}) changes the quantization: use backend=tflm")
    return Layer(op=op, kernel="alias", inputs=[x.index], outputs=[y.index], alias_of=x.index)
