"""What is inside a converted ``.tflite``: ops, quantization, MACs; and what must not be.

Read straight from the flatbuffer with the schema module that ai-edge-litert
ships, so no interpreter is needed to describe or reject a model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

import edgeml

#: Ops whose multiply-accumulates are counted. Pooling, MEAN, ADD and
#: activations do one add or compare per element and are left out, as in the
#: MAC figures the latency model's cycles/MAC were measured against.
MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")
MACS_METHOD = ("multiply-accumulates of one inference counted from the graph's tensor shapes: "
               "CONV_2D (out_h*out_w*out_c*k_h*k_w*in_c), DEPTHWISE_CONV_2D (out_h*out_w*out_c*k_h*k_w), "
               "FULLY_CONNECTED (rows*units*in), TRANSPOSE_CONV (in_h*in_w*in_c*k_h*k_w*out_c); "
               "pooling, MEAN, elementwise ops and activations not counted")

_INTEGER_TYPES = {"INT8", "INT16", "INT32", "INT64", "BOOL"}


@dataclass
class GraphSummary:
    op_sequence: list[str]
    op_counts: dict[str, int]
    tensor_count: int
    macs: int
    macs_by_kind: dict[str, int]
    macs_method: str
    input_shape: list[int]
    output_shape: list[int]
    input_quant: edgeml.QuantParams
    output_quant: edgeml.QuantParams


def inspect_int8_graph(tflite_bytes: bytes) -> GraphSummary:
    """Summarise a full-integer model; raise if any op or the model's input/output is not integer."""
    from ai_edge_litert import schema_py_generated as schema

    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(tflite_bytes, 0)
    if model.SubgraphsLength() != 1:
        raise edgeml.EdgeMLError(f"the converted model has {model.SubgraphsLength()} subgraphs, not 1: "
                                 "remove control flow (tf.cond/while) from the model")
    graph = model.Subgraphs(0)

    def shape(i: int) -> list[int]:
        return [int(d) for d in graph.Tensors(i).ShapeAsNumpy()]

    def ttype(i: int) -> str:
        return type_names.get(graph.Tensors(i).Type(), "?")

    sequence: list[str] = []
    macs = 0
    by_kind: Counter = Counter()
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = op_names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            name = f"CUSTOM:{(code.CustomCode() or b'?').decode()}"
        sequence.append(name)
        inputs = [int(i) for i in op.InputsAsNumpy() if i >= 0]
        outputs = [int(i) for i in op.OutputsAsNumpy()]
        floats = [ttype(i) for i in inputs + outputs if ttype(i) not in _INTEGER_TYPES]
        if floats:
            raise edgeml.EdgeMLError(
                f"the converter left op #{k} {name} with {floats[0]} tensors in the INT8 model: "
                "replace the layer behind it with one TFLite quantizes to int8, or drop it")
        op_macs = _op_macs(name, [shape(i) for i in inputs], [shape(i) for i in outputs])
        macs += op_macs
        if op_macs:
            by_kind[_layer_kind(name, shape(inputs[1]))] += op_macs

    g_in, g_out = [int(i) for i in graph.InputsAsNumpy()], [int(i) for i in graph.OutputsAsNumpy()]
    if len(g_in) != 1 or len(g_out) != 1:
        raise edgeml.EdgeMLError(f"the model has {len(g_in)} inputs and {len(g_out)} outputs, not 1 and 1: "
                                 "give the Keras model one input and one output")
    for role, i in (("input", g_in[0]), ("output", g_out[0])):
        if ttype(i) != "INT8":
            raise edgeml.EdgeMLError(f"the model's {role} is {ttype(i)}, not INT8: "
                                     "the converter ignored inference_input/output_type; report it with the model")
    return GraphSummary(
        op_sequence=sequence, op_counts=dict(sorted(Counter(sequence).items())),
        tensor_count=int(graph.TensorsLength()), macs=int(macs),
        macs_by_kind={k: int(v) for k, v in sorted(by_kind.items())}, macs_method=MACS_METHOD,
        input_shape=shape(g_in[0]), output_shape=shape(g_out[0]),
        input_quant=_quant(graph.Tensors(g_in[0])), output_quant=_quant(graph.Tensors(g_out[0])))


def _layer_kind(name: str, filter_shape: list[int]) -> str:
    """The cost class of a MAC op: a 1x1 CONV_2D is pointwise (im2col-free matrix multiply)."""
    if name == "CONV_2D":
        return "pointwise" if filter_shape[1:3] == [1, 1] else "conv"
    return {"DEPTHWISE_CONV_2D": "depthwise", "FULLY_CONNECTED": "dense"}.get(name, "conv")


def _op_macs(name: str, ins: list[list[int]], outs: list[list[int]]) -> int:
    if name not in MAC_OPS:
        return 0
    if name == "CONV_2D":             # filter (out_c, k_h, k_w, in_c), output (1, h, w, out_c)
        return int(np.prod(outs[0])) * int(np.prod(ins[1][1:]))
    if name == "DEPTHWISE_CONV_2D":   # filter (1, k_h, k_w, out_c)
        return int(np.prod(outs[0])) * ins[1][1] * ins[1][2]
    if name == "FULLY_CONNECTED":     # weights (units, in)
        return int(np.prod(outs[0])) * ins[1][1]
    # TRANSPOSE_CONV: inputs (output_shape, filter (out_c, k_h, k_w, in_c), input)
    return int(np.prod(ins[2])) * int(np.prod(ins[1][:3]))


def _quant(tensor) -> edgeml.QuantParams:
    q = tensor.Quantization()
    scales = [] if q is None or q.ScaleIsNone() else q.ScaleAsNumpy()
    zeros = [] if q is None or q.ZeroPointIsNone() else q.ZeroPointAsNumpy()
    if len(scales) != 1 or len(zeros) != 1:
        raise edgeml.EdgeMLError(f"tensor {tensor.Name().decode()} has {len(scales)} scales, not one per tensor: "
                                 "the model's input/output must be per-tensor quantized")
    return edgeml.QuantParams(scale=float(scales[0]), zero_point=int(zeros[0]), dtype="int8")
