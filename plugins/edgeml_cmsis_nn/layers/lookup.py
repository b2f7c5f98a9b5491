"""Int8 element-wise unary ops (LOGISTIC, TANH, HARD_SWISH, ELU, LEAKY_RELU, RELU, RELU6, ...) as a
256-entry lookup table computed by TFLM itself at export.

An int8 -> int8 element-wise op's output depends on nothing but the input byte (and constants: the
tensors' quantization, the op's options), so it is fully described by its value on the 256 possible
inputs. We build a one-operator ``.tflite`` holding just that op, with the same input/output quantization
and options and both tensors reshaped to ``[1, 256]``, run it once in tflite-micro's interpreter (the very
reference kernels TFLM runs on the device; :mod:`edgeml_cmsis_nn.layers.tflm_probe`) on all 256 int8
values, and store the outputs as a const table.
The generated C is ``out[i] = table[(uint8_t)in[i]]``: bit-exact with TFLM by construction, whatever the
op's internal arithmetic, and one load per element at run time.
"""

from __future__ import annotations

import numpy as np

from edgeml_cmsis_nn.graph import Graph, Op
from edgeml_cmsis_nn.layers.base import Constant, Layer, Lowering
from edgeml_cmsis_nn.layers.op_checks import per_tensor, refuse, require_int8
from edgeml_cmsis_nn.layers.tflm_probe import as_graph_tensor, probe_model, run_probe

#: Builtins whose int8 output element is a function of the same input element alone, and which TFLM's
#: int8 kernels run (RELU_N1_TO_1, RELU_0_TO_1 and GELU have no TFLM kernel; NEG has no int8 one).
ELEMENTWISE_UNARY = ("LOGISTIC", "TANH", "HARD_SWISH", "ELU", "LEAKY_RELU", "RELU", "RELU6", "QUANTIZE", "ABS")


def one_op_model(graph: Graph, op: Op) -> bytes:
    """A ``.tflite`` of ``op`` alone on ``[1, 256]`` int8 tensors with its input's and output's quantization."""
    shape = (1, 256)
    return probe_model(op, [as_graph_tensor(graph, op.inputs[0], shape=shape, data=None)],
                       [as_graph_tensor(graph, op.outputs[0], shape=shape, data=None)])


def tflm_table(graph: Graph, op: Op) -> np.ndarray:
    """The op's output for every int8 input, indexed by the input byte as ``uint8`` (TFLM, run once)."""
    probe = np.arange(256, dtype=np.uint8).view(np.int8).reshape(1, 256)
    out = run_probe(op, one_op_model(graph, op), [probe])
    if out.dtype != np.int8 or out.size != 256:
        raise refuse(op, f"TFLM's table run gave {out.dtype} x {out.size}, not 256 int8")
    return out.reshape(256)


def lower_lut(lw: Lowering) -> Layer:
    op, g = lw.op, lw.graph
    if op.name not in ELEMENTWISE_UNARY:
        raise refuse(op, "not an element-wise unary op with a lookup-table lowering")
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise refuse(op, "a table op needs one input and one output")
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    require_int8(op, x, y)
    per_tensor(op, x)
    per_tensor(op, y)
    if x.size != y.size:
        raise refuse(op, f"input {x.shape} and output {y.shape} differ in size")
    table = tflm_table(g, op)
    body = "\n".join([
        "    {",
        "        /* TFLM's own output for each of the 256 int8 inputs, computed at export: bit-exact by",
        "           construction. In place is fine (each element is read before it is written). */",
        "        const int8_t *src = @in0@;",
        "        int8_t *dst = @out0@;",
        f"        for (int32_t i = 0; i < {x.size}; ++i) {{",
        "            dst[i] = @table@[(uint8_t)src[i]];",
        "        }",
        "    }",
    ]) + "\n"
    return Layer(op=op, kernel="generated C", body=body, inputs=[op.inputs[0]], outputs=[op.outputs[0]],
                 constants=[Constant("table", "int8_t", table, "table")], macs=x.size,
                 info={"variant": "256-entry lookup table computed by TFLM at export", "elements": x.size,
                       "identity": bool(np.array_equal(table, np.arange(256, dtype=np.uint8).view(np.int8)))})
