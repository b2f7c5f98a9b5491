"""torch -> ONNX -> TensorFlow: how a torch app's model reaches the TFLite INT8 converter.

The train stage of a torch app saves a ``torch.export`` program (``.pt2``:
graph and weights, loadable with ``torch.export.load`` without the app's
code), so the compressor converts any torch app's model without importing
the app. The steps:

1. ``torch.export.load(path).module()``, exported to ONNX (opset 17) with a
   batch of one by torch's TorchScript-based exporter. (The newer
   torch.export-based exporter needs ``onnxscript``, one more dependency;
   the TorchScript one is deprecated but present in torch 2.13 and writes
   byte-identical files run to run.) The ``.onnx`` file is kept in the
   compress stage directory, checked with ``onnx.checker`` (full check,
   shape inference) and run with onnxruntime on the test split: those
   outputs are the ``onnx`` level of the report.
2. onnx2tf turns the ONNX graph into a TensorFlow (tf_keras) model in
   NHWC layout, in memory. It rewrites its input file in place, so it is
   given a copy; it runs offline (no calibration download: its own INT8
   output is not used), and its output is the same run to run.
3. The shared TFLite INT8 conversion (:mod:`int8_conversion`) quantizes it
   with the representative dataset, exactly as for Keras models.

Why onnx2tf and not litert-torch (which converts torch directly): onnx2tf
installs with ``--no-deps`` next to the pinned TensorFlow (plus
``onnx-graphsurgeon``, ``sng4onnx`` and ``tf-keras``), while litert-torch
adds about 1 GiB and downgrades pydantic; and going through ONNX gives a
checked, kept, framework-neutral artifact with its own runtime level.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import edgeml

ONNX_FILE = "model.onnx"
OPSET = 17
INPUT_NAME, OUTPUT_NAME = "input", "output"


def export_onnx(program_path: Path, onnx_path: Path, input_shape: tuple[int, ...]) -> dict[str, Any]:
    """The ``.pt2`` program as an ONNX file with a batch of one; returns what to record about it."""
    import torch

    if not program_path.is_file():
        raise edgeml.DataError(f"{program_path} is missing: re-run the train stage")
    try:
        module = torch.export.load(str(program_path)).module()
    except Exception as exc:  # torch raises assorted errors on a foreign or damaged file
        raise edgeml.DataError(f"{program_path} does not load with torch.export.load ({type(exc).__name__}: "
                               f"{_first_line(exc)}): a torch app must save a torch.export program "
                               "(torch.export.save(torch.export.export(model.eval(), (example,)), path))") from exc
    example = torch.zeros((1, *input_shape), dtype=torch.float32)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), str(onnx_path), opset_version=OPSET, dynamo=False,
                              training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
    except Exception as exc:
        raise edgeml.EdgeMLError(f"ONNX export of {program_path.name} failed ({type(exc).__name__}: "
                                 f"{_first_line(exc)}): use layers with an ONNX opset {OPSET} equivalent") from exc
    return {"opset": OPSET, "exporter": f"torch {torch.__version__} TorchScript-based ONNX exporter",
            "input": [1, *input_shape]}


def check_onnx(onnx_path: Path) -> dict[str, Any]:
    """``onnx.checker`` with shape inference; the op census for the report."""
    import onnx

    model = onnx.load(str(onnx_path))
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise edgeml.EdgeMLError(f"{onnx_path} fails onnx.checker ({_first_line(exc)}): "
                                 "re-export it with a supported opset") from exc
    ops: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type != "Constant":
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return {"checker": f"onnx {onnx.__version__} checker (full_check)", "ops": dict(sorted(ops.items())),
            "opset": int(max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")))}


def run_onnxruntime(onnx_path: Path, x: np.ndarray, progress: edgeml.Progress) -> tuple[np.ndarray, str]:
    """Outputs of every example (batch of one, single thread, so results do not depend on the machine's cores)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows = []
    step = max(1, len(x) // 100)
    for i in range(len(x)):
        rows.append(session.run([OUTPUT_NAME], {INPUT_NAME: x[i:i + 1]})[0][0])
        if (i + 1) % step == 0 or i + 1 == len(x):
            progress.update(i + 1, len(x), "onnxruntime (onnx level)")
    out = np.asarray(rows, dtype=np.float32) if rows else np.zeros((0,), np.float32)
    return out, f"onnxruntime {ort.__version__} (CPU, 1 thread)"


def onnx_converter(onnx_path: Path) -> tuple[Any, str]:
    """A TFLite converter for the ONNX model, through onnx2tf's in-memory tf_keras model."""
    import importlib.metadata as md

    with edgeml.native_stderr_muted(fds=(1, 2)), contextlib.redirect_stdout(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import onnx2tf
        import tensorflow as tf
        import tf_keras

        # Layer names come from per-process counters (model_7/...) and reach the
        # flatbuffer: reset them so a second conversion in one process is byte-identical.
        tf_keras.backend.clear_session()

        with tempfile.TemporaryDirectory(prefix="edgeml-onnx2tf-") as tmp:
            work = Path(tmp) / "model.onnx"
            shutil.copyfile(onnx_path, work)   # onnx2tf rewrites its input file in place
            try:
                keras_model = onnx2tf.convert(
                    input_onnx_file_path=str(work), output_folder_path=str(Path(tmp) / "out"),
                    not_use_onnxsim=True, non_verbose=True, verbosity="error", disable_model_save=True)
            except BaseException as exc:  # onnx2tf calls sys.exit on some failures
                raise edgeml.EdgeMLError(f"onnx2tf could not convert {onnx_path.name} ({type(exc).__name__}: "
                                         f"{_first_line(exc)}): use layers onnx2tf supports "
                                         "(Conv, pooling, ReLU, Concat, Reshape, Softmax...)") from exc
        converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    return converter, f"onnx2tf {md.version('onnx2tf')} -> tensorflow {tf.__version__} TFLite converter"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
