"""C programs and the runners that build and run them on a target.

A :class:`Program` is C code with one entry point of a fixed shape::

    int ENTRY(const IN_T *input, OUT_T *output);   /* returns 0 on success */

where ``IN_T``/``OUT_T`` follow ``input_dtype``/``output_dtype`` and one call
maps one example (``input_shape`` elements) to its outputs
(``output_shape`` elements). Backends describe their deliverable's model as a
Program (:attr:`edgeml.Deliverable.program`), apps their device code
(:attr:`edgeml.DeviceCode.program`). A :class:`edgeml.Runner` builds a Program
for a target (host compiler, cross compiler and emulator, a board) and puts
examples through it; the result, a :class:`ProgramRun`, carries the outputs
and whatever the runner measured (flash and RAM of the linked image,
instructions and cycles per call), each figure with its method.

Third-party C libraries (a model library's headers, a DSP library) are named, never
copied: ``Program.libraries`` maps a :class:`edgeml.CLibrary`'s name to the
library sources the program needs compiled (relative to the library's root;
empty for header-only use), and the library plugin says where the library is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.artifacts import Figure
from edgeml.errors import DataError

#: Element types a program's input and output may have, with their C names.
C_TYPES = {"float32": "float", "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t"}


@dataclass
class Program:
    """C code with one entry point ``int ENTRY(const IN_T *input, OUT_T *output)``.

    Paths in ``sources`` and ``include_dirs`` are relative to the directory
    the program lives in (the export stage's directory), so a Program is
    data that travels with its files. ``flags`` are compile flags the code
    needs on every compiler (``-ffp-contract=off`` for float code verified
    bit for bit); the runner adds its own and the target's.
    """

    name: str
    entry_point: str
    sources: list[str]
    input_dtype: str
    input_shape: tuple[int, ...]
    output_dtype: str
    output_shape: tuple[int, ...]
    include_dirs: list[str] = field(default_factory=lambda: ["."])
    #: Include dirs of generated third-party code in the deliverable (e.g. a converter's output),
    #: passed as system includes so the project's warning flags do not apply to it.
    system_include_dirs: list[str] = field(default_factory=list)
    libraries: dict[str, list[str]] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    defines: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    #: Examples come in groups of this many (e.g. the frames of one clip): a runner that runs only
    #: the first examples (an emulator within its instruction budget) stops at a group boundary.
    group: int = 1
    #: Per-section profiling: the name of a global ``volatile uint32_t`` the program writes a section
    #: number to (``edgeml_mark = 3;`` before each layer). A runner that counts instructions (the
    #: emulator) hooks stores to it and reports instructions, cycles and writes per section in
    #: ``ProgramRun.info["marks"]``; instructions before an example's first write count as section -1.
    #: The attribution is per executed basic block: a block that contains the store counts toward the
    #: section that was current when the block started (the few instructions after the store up to the
    #: block's branch go to the previous section). A runner that cannot count instructions (the host
    #: runner) ignores it. "" (the default): no sections. A name the linked program does not define is
    #: an :class:`edgeml.PluginError`.
    marks: str = ""

    def __post_init__(self) -> None:
        for what, dtype in (("input", self.input_dtype), ("output", self.output_dtype)):
            if dtype not in C_TYPES:
                raise DataError(f"program '{self.name}': {what}_dtype '{dtype}' is not one of "
                                f"{', '.join(C_TYPES)}: fix the plugin that made it")
        if not self.entry_point.isidentifier():
            raise DataError(f"program '{self.name}': entry point '{self.entry_point}' is not a C identifier")
        self.input_shape = tuple(int(d) for d in self.input_shape)
        self.output_shape = tuple(int(d) for d in self.output_shape)
        if int(self.group) < 1:
            raise DataError(f"program '{self.name}': group={self.group} must be >= 1")
        self.group = int(self.group)
        self.marks = str(self.marks or "")
        if self.marks and not self.marks.isidentifier():
            raise DataError(f"program '{self.name}': marks '{self.marks}' is not a C identifier: name the global "
                            "volatile uint32_t the program writes section numbers to, or leave it empty")

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def output_size(self) -> int:
        return int(np.prod(self.output_shape))

    def cast_inputs(self, x: np.ndarray) -> np.ndarray:
        """``x`` as (n, input_size) of ``input_dtype``, contiguous; a shape mismatch is a DataError."""
        x = np.asarray(x)
        n = len(x)
        if x.size != n * self.input_size:
            raise DataError(f"program '{self.name}' takes {self.input_size} {self.input_dtype} per example, got "
                            f"inputs of shape {x.shape}: the features and the exported program disagree; re-run "
                            "preprocess to export together")
        return np.ascontiguousarray(x.reshape(n, self.input_size).astype(self.input_dtype, copy=False))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "entry_point": self.entry_point, "sources": list(self.sources),
                "input_dtype": self.input_dtype, "input_shape": list(self.input_shape),
                "output_dtype": self.output_dtype, "output_shape": list(self.output_shape),
                "include_dirs": list(self.include_dirs), "system_include_dirs": list(self.system_include_dirs),
                "libraries": {k: list(v) for k, v in sorted(self.libraries.items())},
                "flags": list(self.flags), "defines": dict(sorted(self.defines.items())), "info": self.info,
                "group": self.group, "marks": self.marks}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Program":
        return cls(name=d["name"], entry_point=d["entry_point"], sources=list(d["sources"]),
                   input_dtype=d["input_dtype"], input_shape=tuple(d["input_shape"]),
                   output_dtype=d["output_dtype"], output_shape=tuple(d["output_shape"]),
                   include_dirs=list(d.get("include_dirs", ["."])),
                   system_include_dirs=list(d.get("system_include_dirs", [])),
                   libraries={k: list(v) for k, v in (d.get("libraries") or {}).items()},
                   flags=list(d.get("flags", [])), defines=dict(d.get("defines") or {}), info=d.get("info") or {},
                   group=int(d.get("group", 1)), marks=str(d.get("marks") or ""))


@dataclass
class LibraryFiles:
    """Where a C library is on this machine: what :meth:`edgeml.CLibrary.locate` returns.

    ``include_dirs`` are passed as system includes (third-party code is not
    held to the project's warning flags); sources a program names are
    relative to ``root``.
    """

    root: Path
    include_dirs: list[Path]
    version: str = ""
    defines: dict[str, str] = field(default_factory=dict)
    #: Compile flags the library needs (e.g. a shim header forced in with -include).
    flags: list[str] = field(default_factory=list)


@dataclass
class RunRequest:
    """Everything a runner gets for one program: read-only, and one directory to write.

    ``inputs`` is (n, input_size) of the program's input dtype. ``work_dir``
    is where the runner keeps what it builds (firmware, map file); it is
    part of the build. ``flash_bytes`` and ``ram_bytes`` are what the
    program may use on the target (the model's share of each): a runner that
    links for the target turns an overflow into :class:`edgeml.BudgetError`.
    ``options`` is the runner's own config node (``runners.NAME``).
    Everything a runner returns except :attr:`ProgramRun.timing` is written
    into the build, so it must not depend on the clock or the build's path.
    """

    program: Program
    root: Path
    inputs: np.ndarray
    target: Any
    work_dir: Path
    libraries: dict[str, LibraryFiles]
    flash_bytes: int
    ram_bytes: int
    options: dict[str, Any] = field(default_factory=dict)
    progress: Any = None
    #: Where ``work_dir`` will be once the stage finishes, relative to the build dir
    #: (``validate/firmware/model/emulator``): name kept files by it in methods and info.
    label: str = ""


@dataclass
class ProgramRun:
    """What one runner measured for one program.

    ``outputs`` is (k, output_size) of the program's output dtype for the
    first ``k`` examples: all of them unless the runner stopped early within
    a budget (an emulator on a slow core), which ``examples`` then says.
    ``instructions`` and ``cycles`` are per call (per inference), ``None``
    when the runner cannot count them; ``flash_bytes``/``ram_bytes`` come
    from the built image (RAM includes the stack the run used, when
    measured). ``info`` holds the runner's details (image path, compiler,
    flags, per-class cycle breakdown, spread over examples, per-section figures when the program
    has :attr:`Program.marks`).
    """

    runner: str
    outputs: np.ndarray
    method: str
    flash_bytes: Figure | None = None
    ram_bytes: Figure | None = None
    instructions: Figure | None = None
    cycles: Figure | None = None
    info: dict[str, Any] = field(default_factory=dict)
    #: How many leading examples were run, when not all (``None``: every example).
    examples: int | None = None
    #: Wall-clock figures (seconds, emulated instructions per second): printed, never written into
    #: artifacts, which are byte-identical for the same config and seed.
    timing: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The figures without the outputs, for report.json."""
        def fig(f: Figure | None):
            return None if f is None else f.to_json()
        return {"runner": self.runner, "method": self.method, "examples": len(self.outputs),
                "flash_bytes": fig(self.flash_bytes),
                "ram_bytes": fig(self.ram_bytes), "instructions": fig(self.instructions),
                "cycles": fig(self.cycles), "info": self.info}


@dataclass
class ProgramRuns:
    """One program put through every selected runner that supports the target.

    ``runs`` is in the configured order; the last one is the closest to the
    device (:attr:`device`). ``skipped`` names the runners that could not
    serve this target, with the reason. ``differences`` lists runner pairs
    whose outputs are not identical on the examples both ran (empty when
    they agree bit for bit).
    """

    program: Program
    runs: dict[str, ProgramRun]
    skipped: dict[str, str] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)

    @property
    def device(self) -> ProgramRun:
        """The last run (the closest to the device), complete or not."""
        return list(self.runs.values())[-1]

    def complete(self) -> ProgramRun:
        """The last run that covered every example (the host's, at least, always does)."""
        n = max(len(r.outputs) for r in self.runs.values())
        return [r for r in self.runs.values() if len(r.outputs) == n][-1]

    def measured(self) -> ProgramRun | None:
        """The last run that counted cycles, if any."""
        for run in reversed(list(self.runs.values())):
            if run.cycles is not None:
                return run
        return None

    def summary(self) -> dict[str, Any]:
        return {"program": self.program.name, "entry_point": self.program.entry_point,
                "runs": {k: r.summary() for k, r in self.runs.items()}, "skipped": dict(self.skipped),
                "outputs_agree": not self.differences, "differences": list(self.differences)}
