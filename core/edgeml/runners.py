"""Putting a :class:`~edgeml.Program` through the configured runners.

``runners.use`` (config) lists runner names in order, nearest the desk
first (``[host, emulator]``). Every listed runner that supports the target
builds and runs the program on the same inputs; runners that cannot serve
the target are skipped with their reason, which the report quotes. The
outputs of all runs must be identical: a difference is recorded and the
validate stage fails the parity check on it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from edgeml.components import Runner
from edgeml.errors import ConfigError, IncompatibleError, PluginError
from edgeml.programs import LibraryFiles, Program, ProgramRun, ProgramRuns, RunRequest
from edgeml.targets import TargetProfile


def _runner_config(config: DictConfig) -> dict[str, Any]:
    node = config.get("runners") if config is not None else None
    if node is None:
        return {"use": []}
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def selected(config: DictConfig, registry: Any) -> list[Runner]:
    """The runners ``runners.use`` names, in order; an unknown name is a ConfigError listing the installed ones."""
    names = [str(n) for n in (_runner_config(config).get("use") or [])]
    out = []
    for name in names:
        if name not in registry.runners:
            raise ConfigError(f"runners.use names '{name}', which no installed plugin provides: choose from "
                              f"{', '.join(registry.runners) or 'none installed'}")
        out.append(registry.runners[name])
    return out


def check(config: DictConfig, registry: Any, target: TargetProfile) -> None:
    """At composition: the runners exist, and those that serve the target have their tools."""
    for runner in selected(config, registry):
        if runner.supports(target) is None:
            runner.check(config, target)


def locate_libraries(program: Program, registry: Any) -> dict[str, LibraryFiles]:
    found = {}
    for name in program.libraries:
        if name not in registry.c_libraries:
            raise ConfigError(f"program '{program.name}' needs the C library '{name}', which no installed plugin "
                              f"provides (installed: {', '.join(registry.c_libraries) or 'none'}): install the "
                              "plugin that ships it")
        files = registry.c_libraries[name].locate()
        if not isinstance(files, LibraryFiles):
            raise PluginError(f"C library '{name}'.locate() returned {type(files).__name__}, not "
                              "edgeml.LibraryFiles: fix the plugin")
        found[name] = files
    return found


def run_program(program: Program, inputs: np.ndarray, *, root: Path, work_dir: Path, config: DictConfig,
                registry: Any, target: TargetProfile, progress: Any = None, label: str = "") -> ProgramRuns:
    """Build ``program`` (files under ``root``) with every selected runner that supports ``target``
    and put ``inputs`` through it; the outputs of the runs are compared bit for bit. ``label`` is
    ``work_dir`` as the report should name it (relative to the build dir)."""
    runners = selected(config, registry)
    if not runners:
        raise ConfigError("runners.use is empty: list at least one runner (e.g. runners.use=[host])")
    x = program.cast_inputs(inputs)
    libraries = locate_libraries(program, registry)
    options = _runner_config(config)
    runs: dict[str, ProgramRun] = {}
    skipped: dict[str, str] = {}
    for runner in runners:
        reason = runner.supports(target)
        if reason is not None:
            skipped[runner.name] = reason
            continue
        wd = Path(work_dir) / runner.name
        wd.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        try:
            result = runner.run(RunRequest(
            program=program, root=Path(root), inputs=x, target=target, work_dir=wd, libraries=libraries,
            flash_bytes=target.flash_budget_bytes, ram_bytes=target.ram_budget_bytes,
                options=dict(options.get(runner.name) or {}), progress=progress,
                label=f"{label}/{runner.name}" if label else runner.name))
        except IncompatibleError as exc:   # the runner found at run time that it cannot run this program
            skipped[runner.name] = str(exc)
            shutil.rmtree(wd, ignore_errors=True)
            continue
        if not isinstance(result, ProgramRun):
            raise PluginError(f"runner '{runner.name}'.run() returned {type(result).__name__}, not "
                              "edgeml.ProgramRun: fix the plugin")
        out = np.asarray(result.outputs)
        k = len(x) if result.examples is None else int(result.examples)
        if out.size != k * program.output_size or not 0 < k <= len(x) or (k < len(x) and k % program.group):
            raise PluginError(f"runner '{runner.name}' returned {out.size} outputs for {k} examples of program "
                              f"'{program.name}' (of {len(x)}, in groups of {program.group}), expected "
                              f"{k} x {program.output_size}: fix the runner")
        result.outputs = out.reshape(k, program.output_size).astype(program.output_dtype, copy=False)
        result.examples = k
        result.timing.setdefault("wall_seconds", round(time.monotonic() - t0, 3))
        if not any(wd.iterdir()):   # a runner that keeps nothing (the host's scratch build)
            wd.rmdir()
        runs[runner.name] = result
    if not runs:
        raise ConfigError(f"no runner in runners.use can run on target '{target.name}' ("
                          + "; ".join(f"{k}: {v}" for k, v in skipped.items())
                          + "): add one that can, e.g. runners.use=[host]")
    differences = []
    names = list(runs)
    for a, b in zip(names, names[1:]):
        k = min(len(runs[a].outputs), len(runs[b].outputs))
        oa, ob = runs[a].outputs[:k], runs[b].outputs[:k]
        bad = np.where(np.any(oa.view(np.uint8).reshape(len(oa), -1) != ob.view(np.uint8).reshape(len(ob), -1),
                              axis=1))[0]
        if len(bad):
            i = int(bad[0])
            j = int(np.where(oa[i].view(np.uint8) != ob[i].view(np.uint8))[0][0]) // oa.itemsize
            differences.append(f"{a} vs {b}: {len(bad)} of the {k} examples both ran differ (first: example {i}, "
                               f"output {j}: {oa[i, j]!r} vs {ob[i, j]!r})")
    return ProgramRuns(program=program, runs=runs, skipped=skipped, differences=differences)
