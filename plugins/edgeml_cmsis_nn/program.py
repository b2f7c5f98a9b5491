"""The compiled model as an :class:`edgeml.Program` the runners build: the generated C plus the CMSIS-NN
sources it needs (found by :mod:`edgeml_cmsis_nn.sources`), entry point ``<prefix>_model_invoke``.

``dump=True`` gives the per-layer twin: entry point ``<prefix>_model_layers``, whose output is every op's
output tensor in op order, for naming the first layer that differs from TFLM.
"""

from __future__ import annotations

import re
from pathlib import Path

import edgeml
from edgeml_cmsis_nn.compiler import CompiledModel

LIBRARY = "cmsis-nn"
CALL = re.compile(r"\b(arm_\w+)\s*\(")


def kernel_sources(compiled: CompiledModel, prefix: str, cmsis_nn: edgeml.LibraryFiles) -> list[str]:
    from edgeml_cmsis_nn.sources import sources_for

    called = set(CALL.findall(compiled.files[f"{prefix}_model.c"]))
    return sources_for(Path(cmsis_nn.root), called)


def model_program(compiled: CompiledModel, prefix: str, cmsis_nn: edgeml.LibraryFiles, *, dump: bool = False,
                  marks: bool = True, subdir: str = ".") -> edgeml.Program:
    g = compiled.graph
    x, y = g.tensor(g.inputs[0]), g.tensor(g.outputs[0])
    up = prefix.upper()
    defines = {f"{up}_PROFILE_MARKS": "1"} if marks and not dump else {}
    if dump:
        defines[f"{up}_LAYER_DUMP"] = "1"
    sources = [f"{subdir}/{prefix}_model.c", f"{subdir}/{prefix}_model_data.c"] if subdir != "." else \
        [f"{prefix}_model.c", f"{prefix}_model_data.c"]
    return edgeml.Program(
        name="model_layers" if dump else "model",
        entry_point=f"{prefix}_model_layers" if dump else f"{prefix}_model_invoke",
        sources=sources, include_dirs=[subdir], libraries={LIBRARY: kernel_sources(compiled, prefix, cmsis_nn)},
        input_dtype="int8", input_shape=tuple(int(d) for d in x.shape[1:]) or (1,), output_dtype="int8",
        output_shape=(compiled.dump_bytes,) if dump else (tuple(int(d) for d in y.shape[1:]) or (1,)),
        defines=defines, marks=f"{prefix}_mark" if marks and not dump else "",
        info={"kernels": compiled.kernels()})
