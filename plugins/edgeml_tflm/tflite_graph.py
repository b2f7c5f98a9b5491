"""The ops and the input/output tensors of a ``.tflite``, read from its flatbuffer.

Uses the schema module tflite-micro ships, so the backend needs neither
TensorFlow nor the compressor's plugin to know what it exports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TfliteGraph:
    ops: list[str]                 # distinct operator names in order of first use ("CUSTOM:name" for custom)
    op_counts: dict[str, int]      # how many times each is used
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_type: str
    output_type: str
    subgraphs: int


def read_graph(tflite_bytes: bytes) -> TfliteGraph:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(tflite_bytes, 0)
    graph = model.Subgraphs(0)
    ops: list[str] = []
    counts: dict[str, int] = {}
    for k in range(graph.OperatorsLength()):
        code = model.OperatorCodes(graph.Operators(k).OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = op_names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            name = f"CUSTOM:{(code.CustomCode() or b'?').decode()}"
        if name not in counts:
            ops.append(name)
        counts[name] = counts.get(name, 0) + 1
    t_in = graph.Tensors(int(graph.Inputs(0)))
    t_out = graph.Tensors(int(graph.Outputs(0)))
    return TfliteGraph(
        ops=ops, op_counts=dict(sorted(counts.items())),
        input_shape=tuple(int(d) for d in t_in.ShapeAsNumpy()),
        output_shape=tuple(int(d) for d in t_out.ShapeAsNumpy()),
        input_type=type_names.get(t_in.Type(), "?"), output_type=type_names.get(t_out.Type(), "?"),
        subgraphs=int(model.SubgraphsLength()))
