"""TFLM's side of the comparison, from tflite-micro's host interpreter (reference kernels): the outputs on
the test split, every op's output on a few inputs (for naming the first layer that differs), and the
smallest arena TFLM allocates and invokes the model in.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from dataclasses import dataclass

import numpy as np

import edgeml

PROBE_ARENA = 8 << 20      # every intermediate kept alive: far above any plan


def version() -> str:
    import tflite_micro

    return f"tflite-micro {getattr(tflite_micro, '__version__', 'unknown')}"


def outputs(tflite_bytes: bytes, q_inputs: np.ndarray, progress: edgeml.Progress | None = None) -> np.ndarray:
    """TFLM's int8 outputs, one flattened row per example."""
    from tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(tflite_bytes, arena_size=PROBE_ARENA)
    n = len(q_inputs)
    rows = []
    for i in range(n):
        interp.set_input(q_inputs[i][np.newaxis], 0)
        interp.invoke()
        rows.append(np.asarray(interp.get_output(0)).reshape(-1))
        if progress is not None and ((i + 1) % max(1, n // 20) == 0 or i + 1 == n):
            progress.update(i + 1, n, "TFLM reference outputs")
    return np.stack(rows).astype(np.int8) if rows else np.zeros((0, 0), np.int8)


def digest(rows: np.ndarray) -> str:
    """sha256 of int8 outputs, row-major: a device equal to TFLM on every example has the same digest."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(rows, dtype=np.int8)).tobytes()).hexdigest()


def every_op_output(tflite_bytes: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """The model rewritten so each op's outputs are graph outputs, in op order: [(op index, tensor)]."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)
    sg = model.subgraphs[0]
    order = [(k, int(t)) for k, op in enumerate(sg.operators) for t in op.outputs]
    sg.outputs = np.array([t for _, t in order], dtype=np.int32)
    builder = flatbuffers.Builder(len(tflite_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), order


def layer_outputs(tflite_bytes: bytes, q_inputs: np.ndarray) -> np.ndarray:
    """Every op's output, concatenated in op order (the generated C's layer dump layout), per example."""
    from tflite_micro import runtime

    probe, order = every_op_output(tflite_bytes)
    interp = runtime.Interpreter.from_bytes(probe, arena_size=PROBE_ARENA)
    rows = []
    for x in q_inputs:
        interp.set_input(x[np.newaxis], 0)
        interp.invoke()
        rows.append(np.concatenate([np.asarray(interp.get_output(k)).astype(np.int8).reshape(-1)
                                    for k in range(len(order))]))
    return np.stack(rows)


@dataclass(frozen=True)
class Arena:
    bytes: int
    granularity: int


def _probe(tflite_bytes: bytes, size: int, probe: np.ndarray) -> None:
    import os

    from tflite_micro import runtime

    try:
        interp = runtime.Interpreter.from_bytes(tflite_bytes, arena_size=int(size))
        interp.set_input(probe[np.newaxis], 0)
        interp.invoke()
    except RuntimeError:
        os._exit(1)
    os._exit(0)


def _allocates(tflite_bytes: bytes, size: int, probe: np.ndarray) -> bool:
    """In a forked child: TFLM can crash outright (not raise) in an arena too small for some ops."""
    child = multiprocessing.get_context("fork").Process(target=_probe, args=(tflite_bytes, size, probe))
    child.start()
    child.join()
    return child.exitcode == 0


def smallest_arena(tflite_bytes: bytes, probe: np.ndarray, granularity: int = 16, limit: int = 4 << 20) -> Arena:
    """TFLM's smallest working arena on this 64-bit host, by bisection (each probe in a forked child)."""
    lo, hi = 0, limit
    with edgeml.native_output_captured():
        if not _allocates(tflite_bytes, hi, probe):
            raise edgeml.DataError(f"TFLM cannot run the model even in a {limit}-byte arena: check the .tflite")
        while hi - lo > granularity:
            mid = (lo + hi) // 2 // granularity * granularity
            if mid <= lo:
                break
            if _allocates(tflite_bytes, mid, probe):
                hi = mid
            else:
                lo = mid
    return Arena(bytes=hi, granularity=granularity)
