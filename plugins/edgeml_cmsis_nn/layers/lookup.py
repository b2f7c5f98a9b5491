"""Int8 element-wise unary ops (LOGISTIC, TANH, HARD_SWISH, ELU, LEAKY_RELU, RELU, RELU6, ...) as a
256-entry lookup table computed by TFLM itself at export.

An int8 -> int8 element-wise op's output depends on nothing but the input byte (and constants: the
tensors' quantization, the op's options), so it is fully described by its value on the 256 possible
inputs. We build a one-operator ``.tflite`` holding just that op, with the same input/output quantization
and options and both tensors reshaped to ``[1, 256]``, run it once in tflite-micro's interpreter (the very
reference kernels TFLM runs on the device) on all 256 int8 values, and store the outputs as a const table.
The generated C is ``out[i] = table[(uint8_t)in[i]]``: bit-exact with TFLM by construction, whatever the
op's internal arithmetic, and one load per element at run time.
"""

from __future__ import annotations

import numpy as np

from edgeml_cmsis_nn.graph import Graph, Op, Tensor
from edgeml_cmsis_nn.layers.base import Constant, Layer, Lowering
from edgeml_cmsis_nn.layers.op_checks import per_tensor, refuse, require_int8

#: Builtins whose int8 output element is a function of the same input element alone, and which TFLM's
#: int8 kernels run (RELU_N1_TO_1, RELU_0_TO_1 and GELU have no TFLM kernel; NEG has no int8 one).
ELEMENTWISE_UNARY = ("LOGISTIC", "TANH", "HARD_SWISH", "ELU", "LEAKY_RELU", "RELU", "RELU6", "QUANTIZE", "ABS")
TFLITE_INT8 = 9


def _options(schema, op: Op):
    """The op's builtin options object rebuilt from the graph's dict: (options type code, object)."""
    camel = "".join(part.capitalize() for part in op.name.split("_")) + "Options"
    code = getattr(schema.BuiltinOptions, camel, None)
    if code is None:
        if op.options:
            raise refuse(op, f"cannot rebuild its options ({sorted(op.options)}) for the table run")
        return 0, None
    obj = getattr(schema, camel + "T")()
    for k, v in op.options.items():
        setattr(obj, k, v)
    return code, obj


def _tensor(schema, t: Tensor, index: int):
    q = schema.QuantizationParametersT()
    q.scale = [float(v) for v in t.scale]
    q.zeroPoint = [int(v) for v in t.zero_point]
    q.quantizedDimension = 0
    out = schema.TensorT()
    out.shape = [1, 256]
    out.type = TFLITE_INT8
    out.buffer = 0
    out.name = f"t{index}".encode()
    out.quantization = q
    return out


def one_op_model(graph: Graph, op: Op) -> bytes:
    """A ``.tflite`` of ``op`` alone on ``[1, 256]`` int8 tensors with its input's and output's
    quantization (flatbuffer object API of the schema tflite-micro ships; file identifier ``TFL3``)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    names = {k: v for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    code = schema.OperatorCodeT()
    code.builtinCode = names[op.name]
    code.deprecatedBuiltinCode = min(names[op.name], 127)
    code.version = 1
    operator = schema.OperatorT()
    operator.opcodeIndex = 0
    operator.inputs = [0]
    operator.outputs = [1]
    operator.builtinOptionsType, operator.builtinOptions = _options(schema, op)
    sg = schema.SubGraphT()
    sg.tensors = [_tensor(schema, graph.tensor(op.inputs[0]), 0), _tensor(schema, graph.tensor(op.outputs[0]), 1)]
    sg.inputs, sg.outputs, sg.operators = [0], [1], [operator]
    sg.name = b"lut"
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [code]
    model.subgraphs = [sg]
    model.buffers = [schema.BufferT()]
    model.description = b"edgeml lookup-table probe"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tflm_table(graph: Graph, op: Op) -> np.ndarray:
    """The op's output for every int8 input, indexed by the input byte as ``uint8`` (TFLM, run once)."""
    from tflite_micro import runtime

    probe = np.arange(256, dtype=np.uint8).view(np.int8).reshape(1, 256)
    try:
        interp = runtime.Interpreter.from_bytes(one_op_model(graph, op), arena_size=64 * 1024)
        interp.set_input(probe, 0)
        interp.invoke()
        out = np.asarray(interp.get_output(0))
    except Exception as exc:   # TFLM rejects the op variant (type, quantization): so would the device
        raise refuse(op, f"TFLM does not run it on int8 ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") \
            from exc
    if out.dtype != np.int8 or out.size != 256:
        raise refuse(op, f"TFLM's table run gave {out.dtype} x {out.size}, not 256 int8")
    return out.reshape(256).copy()


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
