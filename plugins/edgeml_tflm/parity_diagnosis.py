"""When TFLM and the TFLite reference disagree, name the first op whose output differs.

A mismatch count says *that* the runtimes differ; the first diverging op says
*why* (DESIGN.md: TFLite's reference FULLY_CONNECTED rounds in double
precision, TFLM in fixed point, so ties land 1 LSB apart). Both runtimes run
a copy of the model in which every op's output tensor is a graph output, on
one input where the final outputs differed, and the intermediate tensors are
compared in execution order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROBE_ARENA_BYTES = 8 * 1024 * 1024  # every intermediate kept alive: far above the plan's arena


@dataclass(frozen=True)
class ProbeTensor:
    op_index: int
    op_name: str
    tensor_index: int
    tensor_name: str


def with_every_output(tflite_bytes: bytes) -> tuple[bytes, list[ProbeTensor]]:
    """The model rewritten so each op's outputs are graph outputs, in execution order."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)
    sg = model.subgraphs[0]
    order: list[ProbeTensor] = []
    for i, op in enumerate(sg.operators):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        for t in op.outputs:
            tname = sg.tensors[t].name
            order.append(ProbeTensor(i, names.get(builtin, f"OP{builtin}"), int(t),
                                     tname.decode() if isinstance(tname, bytes) else str(tname)))
    sg.outputs = np.array([p.tensor_index for p in order], dtype=np.int32)
    builder = flatbuffers.Builder(len(tflite_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), order


def first_divergence(device_model: bytes, reference_model: bytes, q_input: np.ndarray) -> str:
    """Run ``q_input`` (int8, no batch axis) through TFLM on ``device_model`` and TFLite's
    reference kernels on ``reference_model``; describe the first op whose output differs."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from tflite_micro import runtime

    device_probe, order = with_every_output(device_model)
    reference_probe, _ = with_every_output(reference_model)
    batch = q_input[np.newaxis]
    tflm = runtime.Interpreter.from_bytes(device_probe, arena_size=PROBE_ARENA_BYTES)
    tflm.set_input(batch, 0)
    tflm.invoke()
    ref = Interpreter(model_content=reference_probe, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    ref.allocate_tensors()
    ref.set_tensor(ref.get_input_details()[0]["index"], batch)
    ref.invoke()
    for k, probe in enumerate(order):
        got = np.asarray(tflm.get_output(k))
        want = np.asarray(ref.get_tensor(probe.tensor_index))
        if got.shape != want.shape or not np.array_equal(got, want):
            diff = np.abs(got.astype(np.int64) - want.astype(np.int64)) if got.shape == want.shape else None
            detail = ("shapes differ" if diff is None else
                      f"{int((diff > 0).sum())} of {diff.size} values differ, by up to {int(diff.max())} LSB")
            return (f"first divergence at op {probe.op_index} {probe.op_name} "
                    f"(output tensor '{probe.tensor_name}'): {detail}")
    return "no intermediate tensor differs on this input: the difference is in how outputs were read"
