"""Run a compiled model outside a build: the generated C and CMSIS-NN's portable C through the ``host``
runner (or any other), and TFLM on the same inputs. For tests and benchmarks; the backend uses the
build's own runners."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import yaml
from omegaconf import OmegaConf

import edgeml
from edgeml_cmsis_nn.compiler import CompiledModel, compile_model
from edgeml_cmsis_nn.program import model_program

TARGETS = Path(__file__).resolve().parents[2] / "params" / "target"


def target(name: str) -> "edgeml.TargetProfile":
    from edgeml.targets import TargetProfile

    return TargetProfile.from_config(yaml.safe_load((TARGETS / f"{name}.yaml").read_text()))


def cmsis_nn_files() -> edgeml.LibraryFiles:
    from edgeml.plugins import load_registry

    return load_registry().c_libraries["cmsis-nn"].locate()


def run_compiled(compiled: CompiledModel, inputs: np.ndarray, *, prefix: str = "edgeml", runners=("host",),
                 target_name: str = "cortex-m4", dump: bool = False, work_dir: Path | None = None,
                 options: dict | None = None) -> "edgeml.ProgramRuns":
    from edgeml.plugins import load_registry
    from edgeml.runners import run_program

    lib = cmsis_nn_files()
    program = model_program(compiled, prefix, lib, dump=dump)
    config = OmegaConf.create({"runners": {"use": list(runners)} | (options or {})})
    with tempfile.TemporaryDirectory(prefix="edgeml-cmsis-nn-") as tmp:
        root = Path(tmp) / "src"
        root.mkdir()
        for name, text in compiled.files.items():
            (root / name).write_text(text)
        return run_program(program, np.asarray(inputs, dtype=np.int8), root=root,
                           work_dir=Path(work_dir) if work_dir else Path(tmp) / "work", config=config,
                           registry=load_registry(), target=target(target_name))


def run_on_host(tflite_bytes: bytes, inputs: np.ndarray, *, core: str = "cortex-m4", dump: bool = False) -> np.ndarray:
    """The generated C's outputs for ``inputs`` (int8, one row per example, no batch axis), from host gcc."""
    compiled = compile_model(tflite_bytes, cmsis_nn_files(), core)
    runs = run_compiled(compiled, inputs, dump=dump)
    return runs.complete().outputs


def run_tflm(tflite_bytes: bytes, inputs: np.ndarray, arena_bytes: int = 4 << 20) -> np.ndarray:
    """TFLM's outputs (tflite-micro's host interpreter, reference kernels) for the same rows."""
    from tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(tflite_bytes, arena_size=int(arena_bytes))
    rows = []
    for x in np.asarray(inputs, dtype=np.int8):
        interp.set_input(x[np.newaxis], 0)
        interp.invoke()
        rows.append(np.asarray(interp.get_output(0))[0].reshape(-1))
    return np.stack(rows)
