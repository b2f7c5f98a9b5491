"""The tflite-micro host interpreter: TFLM's own C++ (reference kernels) built for this machine.

TFLM reports why it failed (an arena too small, an op with no kernel) only on
the C-level stderr; :func:`edgeml.native_output_captured` keeps those lines so an error can
quote them, and keeps the dozens of expected failures of an arena search off
the user's terminal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import edgeml


def tflm_version() -> str:
    import tflite_micro

    return str(getattr(tflite_micro, "__version__", "unknown"))


def load(tflite_bytes: bytes, arena_bytes: int) -> Any:
    """A TFLM interpreter with its tensors allocated in an arena of ``arena_bytes``; RuntimeError if not."""
    from tflite_micro import runtime

    return runtime.Interpreter.from_bytes(tflite_bytes, arena_size=int(arena_bytes))


def invoke_one(interpreter: Any, q_input: np.ndarray) -> np.ndarray:
    """One inference on one int8 example (no batch axis); the raw output without its batch axis."""
    interpreter.set_input(q_input[np.newaxis], 0)
    interpreter.invoke()
    return np.asarray(interpreter.get_output(0))[0]


def run_all(tflite_bytes: bytes, arena_bytes: int, q_inputs: np.ndarray, progress: edgeml.Progress,
            task: str) -> np.ndarray:
    """Every example through one interpreter, in order; raw int8 outputs, one row each."""
    with edgeml.native_output_captured() as err:
        try:
            interpreter = load(tflite_bytes, arena_bytes)
        except RuntimeError as exc:
            failure: RuntimeError | None = exc
        else:
            failure = None
    if failure is not None:
        raise edgeml.EdgeMLError(f"TFLM could not load the exported model with a {arena_bytes}-byte arena "
                                 f"({err.last_lines()}): re-run the export stage") from failure
    n = len(q_inputs)
    rows: list[np.ndarray] = []
    step = max(1, n // 100)
    for i in range(n):
        try:
            rows.append(invoke_one(interpreter, q_inputs[i]))
        except RuntimeError as exc:
            raise edgeml.EdgeMLError(f"TFLM invoke failed on test example {i} ({exc}): "
                                     "re-run the export stage; if it persists, report the model") from exc
        if (i + 1) % step == 0 or i + 1 == n:
            progress.update(i + 1, n, task)
    return np.stack(rows) if rows else np.zeros((0,), dtype=np.int8)
