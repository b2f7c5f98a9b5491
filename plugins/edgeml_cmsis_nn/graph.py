"""An INT8 ``.tflite`` read into a plain graph: tensors with their quantization and constant data,
operators with their builtin options, in execution order.

Uses the flatbuffer schema module tflite-micro ships (the object API, ``ModelT``), so the backend needs
neither TensorFlow nor the compressor's plugin to read what it compiles. Nothing here knows CMSIS-NN:
the lowering (``layers``) turns each :class:`Op` into C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import edgeml

#: TFLite tensor type codes (schema ``TensorType``) to numpy dtypes, for the types an INT8 model holds.
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}
#: Fused activation codes (schema ``ActivationFunctionType``).
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


@dataclass
class Tensor:
    """One tensor of the graph. ``data`` is set for constants (weights, biases, shape operands)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: Any                          # a numpy dtype
    scale: np.ndarray                   # float32, one per tensor or per channel; empty when not quantized
    zero_point: np.ndarray              # int64, same length as scale
    quantized_dimension: int = 0
    data: np.ndarray | None = None      # constant contents, already shaped

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        """Elements."""
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass
class Op:
    """One operator: its builtin name, tensor indices (-1 for an omitted optional input) and options."""

    index: int                          # position in the execution order
    name: str                           # builtin name, e.g. "CONV_2D"; "CUSTOM:<code>" for a custom op
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)   # the schema's option fields, e.g. strideW, padding


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    subgraphs: int = 1

    def tensor(self, index: int) -> Tensor:
        if index < 0:      # an omitted optional input is -1: never the last tensor by Python's indexing
            raise IndexError(f"tensor {index} is an omitted optional input")
        return self.tensors[index]

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.name] = counts.get(op.name, 0) + 1
        return dict(sorted(counts.items()))


def _names(enum: Any) -> dict[int, str]:
    return {v: k for k, v in vars(enum).items() if not k.startswith("_")}


def read_graph(tflite_bytes: bytes, source: str = "model.tflite") -> Graph:
    """The first subgraph of ``tflite_bytes``; a DataError naming ``source`` if it is no TFLite flatbuffer."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)
        sg = model.subgraphs[0]
    except Exception as exc:  # flatbuffers raises assorted errors on garbage
        raise edgeml.DataError(f"{source} is not a TFLite flatbuffer ({type(exc).__name__}): "
                               "re-run the compress stage") from exc
    op_names = _names(schema.BuiltinOperator)
    tensors = []
    for i, t in enumerate(sg.tensors):
        dtype = DTYPES.get(int(t.type))
        if dtype is None:
            raise edgeml.IncompatibleError(f"{source}: tensor {i} has TFLite type {int(t.type)}, which an INT8 "
                                           "model does not use: re-run compress with the tflite-int8 compressor")
        q = t.quantization
        scale = np.asarray(q.scale if q is not None and q.scale is not None else [], dtype=np.float32)
        zp = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], dtype=np.int64)
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        buf = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
        data = None
        if buf is not None and buf.data is not None and len(buf.data):
            raw = np.asarray(buf.data, dtype=np.uint8).tobytes()
            data = np.frombuffer(raw, dtype=dtype).reshape(shape if shape else ()).copy()
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name or f"tensor{i}")
        tensors.append(Tensor(index=i, name=name, shape=shape, dtype=np.dtype(dtype), scale=scale, zero_point=zp,
                              quantized_dimension=int(q.quantizedDimension) if q is not None else 0, data=data))
    ops = []
    for k, op in enumerate(sg.operators):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        name = op_names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else str(code.customCode)
            name = f"CUSTOM:{custom}"
        options = dict(vars(op.builtinOptions)) if op.builtinOptions is not None else {}
        ops.append(Op(index=k, name=name, inputs=[int(i) for i in (op.inputs if op.inputs is not None else [])],
                      outputs=[int(i) for i in (op.outputs if op.outputs is not None else [])], options=options))
    return Graph(tensors=tensors, ops=ops, inputs=[int(i) for i in sg.inputs], outputs=[int(i) for i in sg.outputs],
                 subgraphs=len(model.subgraphs))


def round_half_away(x: float) -> int:
    """C's ``round`` (TFLM's ``TfLiteRound``): halves go away from zero, unlike Python's ``round``."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def activation_range(code: int, scale: float, zero_point: int, qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """The int8 clamp of a fused activation, as TFLM's ``CalculateActivationRangeQuantized`` computes it."""
    def quantize(x: float) -> int:
        return zero_point + round_half_away(float(np.float32(x) / np.float32(scale)))

    name = ACTIVATIONS.get(int(code), str(code))
    if name == "NONE":
        return qmin, qmax
    if name == "RELU":
        return max(qmin, quantize(0.0)), qmax
    if name == "RELU6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if name == "RELU_N1_TO_1":
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    raise edgeml.IncompatibleError(f"fused activation {name} has no int8 clamp in TFLM: "
                                   "use RELU, RELU6 or none, or backend=tflm")
