"""Run one operator of a graph in TFLM at export, on tensors of our choosing.

Some lowerings are bit-exact *by construction*: rather than re-deriving a kernel's arithmetic or index
logic, they build a ``.tflite`` holding that single operator (same builtin, same options, same constant
operands), run it in tflite-micro's interpreter (the reference kernels TFLM runs on the device) on probe
inputs, and turn the answer into a table (element-wise ops: all 256 int8 inputs) or an index map (data
movement: an int32 ``arange`` in, the gathered positions out). The model is written with the flatbuffer
object API of the schema tflite-micro ships, file identifier ``TFL3``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeml_cmsis_nn.graph import Graph, Op
from edgeml_cmsis_nn.layers.op_checks import refuse

#: numpy dtype -> TFLite TensorType code.
TYPE_CODES = {np.dtype(np.float32): 0, np.dtype(np.int32): 2, np.dtype(np.uint8): 3, np.dtype(np.int64): 4,
              np.dtype(np.int16): 7, np.dtype(np.int8): 9}


@dataclass
class ProbeTensor:
    """A tensor of the probe model: ``data`` for a constant; ``scale``/``zero_point`` empty for none."""

    shape: tuple[int, ...]
    dtype: np.dtype
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()
    data: np.ndarray | None = None


def _options(schema, op: Op):
    """The op's builtin options object rebuilt from the graph's dict: (options type code, object)."""
    camel = "".join(part.capitalize() for part in op.name.split("_")) + "Options"
    code = getattr(schema.BuiltinOptions, camel, None)
    if code is None:
        if op.options:
            raise refuse(op, f"cannot rebuild its options ({sorted(op.options)}) for a TFLM probe")
        return 0, None
    obj = getattr(schema, camel + "T")()
    for k, v in op.options.items():
        setattr(obj, k, v)
    return code, obj


def as_graph_tensor(graph: Graph, index: int, **changes) -> ProbeTensor:
    """The graph's tensor ``index`` as a probe tensor (quantization and constant data kept), with ``changes``."""
    t = graph.tensor(index)
    spec = ProbeTensor(shape=tuple(t.shape), dtype=np.dtype(t.dtype), scale=tuple(float(v) for v in t.scale),
                       zero_point=tuple(int(v) for v in t.zero_point), data=t.data)
    for k, v in changes.items():
        setattr(spec, k, v)
    return spec


def probe_model(op: Op, inputs: list[ProbeTensor | None], outputs: list[ProbeTensor]) -> bytes:
    """A ``.tflite`` of ``op`` alone; ``inputs`` in the op's order (None for an omitted optional input).
    Non-constant inputs become the model's inputs, in order."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    names = {k: v for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    if op.name not in names:
        raise refuse(op, "not a builtin TFLM can be asked about")
    code = schema.OperatorCodeT()
    code.builtinCode = names[op.name]
    code.deprecatedBuiltinCode = min(names[op.name], 127)
    code.version = 1
    buffers = [schema.BufferT()]
    tensors, model_inputs = [], []

    def add(spec: ProbeTensor) -> int:
        t = schema.TensorT()
        t.shape = [int(d) for d in spec.shape]
        t.type = TYPE_CODES[np.dtype(spec.dtype)]
        t.name = f"t{len(tensors)}".encode()
        if len(spec.scale):
            q = schema.QuantizationParametersT()
            q.scale = [float(v) for v in spec.scale]
            q.zeroPoint = [int(v) for v in spec.zero_point]
            t.quantization = q
        t.buffer = 0
        if spec.data is not None:
            b = schema.BufferT()
            b.data = list(np.ascontiguousarray(np.asarray(spec.data, dtype=spec.dtype)).tobytes())
            buffers.append(b)
            t.buffer = len(buffers) - 1
        tensors.append(t)
        return len(tensors) - 1

    op_inputs = []
    for spec in inputs:
        if spec is None:
            op_inputs.append(-1)
            continue
        k = add(spec)
        op_inputs.append(k)
        if spec.data is None:
            model_inputs.append(k)
    op_outputs = [add(spec) for spec in outputs]
    operator = schema.OperatorT()
    operator.opcodeIndex = 0
    operator.inputs, operator.outputs = op_inputs, op_outputs
    operator.builtinOptionsType, operator.builtinOptions = _options(schema, op)
    sg = schema.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators = tensors, model_inputs, op_outputs, [operator]
    sg.name = b"probe"
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [code]
    model.subgraphs = [sg]
    model.buffers = buffers
    model.description = b"edgeml TFLM probe"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def run_probe(op: Op, tflite: bytes, feeds: list[np.ndarray], arena_bytes: int = 256 * 1024) -> np.ndarray:
    """The probe model's first output for ``feeds``; a refusal if TFLM will not run the op so."""
    from tflite_micro import runtime

    try:
        interp = runtime.Interpreter.from_bytes(tflite, arena_size=arena_bytes)
        for k, x in enumerate(feeds):
            interp.set_input(x, k)
        interp.invoke()
        return np.asarray(interp.get_output(0)).copy()
    except Exception as exc:   # TFLM rejects this variant (type, quantization, shapes): so would the device
        first = (str(exc).splitlines() or [""])[0][:120]
        raise refuse(op, f"TFLM does not run it so ({type(exc).__name__}: {first})") from exc
