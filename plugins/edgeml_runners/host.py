"""The ``host`` runner: the deliverable compiled with the host C compiler and run on every example.

It proves the C is warning-free and computes what the model computes; with
``sanitize: true`` it runs under AddressSanitizer and UBSan. It measures no
target figure: host sizes and times say nothing about the microcontroller.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import edgeml
from edgeml import DataError, IncompatibleError, ProgramRun, RunRequest
from edgeml_runners import c_build, harness

SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")
OPTIONS = ("sanitize",)


def host_compiler() -> str:
    """``$CC`` or gcc, as a path; missing is an IncompatibleError with the install command."""
    cc = shutil.which(os.environ.get("CC", "gcc"))
    if cc is None:
        raise IncompatibleError(f"the host runner needs a C compiler and found no '{os.environ.get('CC', 'gcc')}': "
                                "install gcc (apt-get install gcc) or set CC")
    return cc


def _options(options: dict) -> dict:
    unknown = sorted(set(options or {}) - set(OPTIONS))
    if unknown:
        raise edgeml.ConfigError(f"runners.host has unknown option(s) {', '.join(unknown)}: the host runner takes "
                                 f"{', '.join(OPTIONS)}")
    return {"sanitize": bool((options or {}).get("sanitize", False))}


def host_cxx(cc: str) -> str:
    """``$CXX`` or the C++ driver beside the C compiler (g++ beside gcc), for programs with C++ sources."""
    wanted = os.environ.get("CXX")
    if wanted:
        found = shutil.which(wanted)
        if found is None:
            raise IncompatibleError(f"CXX={wanted} is not an executable: install it or unset CXX")
        return found
    return c_build.cxx_for(cc)


class HostRunner(edgeml.Runner):
    """Compiles with the host gcc (-O2 -std=c99 -Wall -Wextra -Werror) and runs all examples natively."""

    name = "host"
    version = "1"
    description = "host C compiler (-Wall -Wextra -Werror, optional ASan/UBSan): outputs, no target figures"

    def check(self, config, target) -> None:
        host_compiler()
        _options(c_build.runner_options(config, self.name))

    def run(self, request: RunRequest) -> ProgramRun:
        """Builds and runs in a scratch directory: a host executable is no artifact of the build."""
        with tempfile.TemporaryDirectory(prefix="edgeml-host-") as scratch:
            return self._run(request, Path(scratch))

    def _run(self, request: RunRequest, work: Path) -> ProgramRun:
        t0 = time.monotonic()
        program = request.program
        opts = _options(request.options)
        cc = host_compiler()
        log = work / "build.log"
        log.write_text("")
        (work / harness.HOST_FILE).write_text(harness.host_main(program))
        sanitize = list(SANITIZE_FLAGS) if opts["sanitize"] else []
        flags = [*sanitize, *c_build.program_flags(request)]
        objects, jobs = [], []
        units = c_build.units(request)
        cxx = host_cxx(cc) if any(u.cplusplus for u in units) else None
        for i, unit in enumerate(units):
            obj = work / f"{i:03d}_{Path(unit.path).stem}.o"
            jobs.append(([cxx if unit.cplusplus else cc, *unit.base_flags, *flags, "-c", unit.path, "-o", str(obj)],
                         unit.cwd, f"compiling {unit.path} of '{program.name}' with the host compiler",
                         unit.library and not sanitize))
            objects.append(str(obj))
        c_build.compile_all(jobs, log, dataclasses.replace(request, work_dir=work))
        c_build.run([cc, *c_build.STRICT_FLAGS, *flags, "-c", harness.HOST_FILE, "-o", "edgeml_runner_main.o"],
                    work,
                    f"compiling the host harness of '{program.name}'", log)
        exe = work / f"{program.name}.host"
        c_build.run([cxx or cc, *sanitize, "edgeml_runner_main.o", *objects, "-lm", "-o", str(exe)], work,
                    f"linking '{program.name}' with the host compiler", log)

        x = program.cast_inputs(request.inputs)
        n = len(x)
        in_path, out_path = work / "inputs.bin", work / "outputs.bin"
        with open(in_path, "wb") as fh:
            np.array([n], np.int32).tofile(fh)
            x.tofile(fh)
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        if request.progress is not None:
            request.progress.update(0, n, f"host run of {program.name}")
        t_run = time.monotonic()
        res = subprocess.run([str(exe), str(in_path), str(out_path)], capture_output=True, text=True, env=env)
        run_seconds = time.monotonic() - t_run
        if res.returncode != 0:
            raise DataError(_failure(program, res, opts["sanitize"]))
        y = np.fromfile(out_path, program.output_dtype)
        if y.size != n * program.output_size:
            raise DataError(f"program '{program.name}': the host run wrote {y.size} outputs, expected "
                            f"{n} x {program.output_size}: the harness stopped early")
        if request.progress is not None:
            request.progress.update(n, n, f"host run of {program.name}")
        version = c_build.tool_version(cc)
        method = f"host: {version}, {' '.join([*c_build.STRICT_FLAGS, *sanitize, *program.flags])}"
        return ProgramRun(
            runner=self.name, outputs=y.reshape(n, program.output_size), method=method,
            info={"compiler": version, "flags": [*c_build.STRICT_FLAGS, *sanitize, *program.flags],
                  "sanitize": opts["sanitize"], "examples": n},
            timing={"run_seconds": round(run_seconds, 4), "wall_seconds": round(time.monotonic() - t0, 4)})


def _failure(program, res: subprocess.CompletedProcess, sanitized: bool) -> str:
    err = res.stderr or ""
    m = re.search(r"edgeml-runner: example (\d+) returned (-?\d+)", err)
    if m:
        return (f"program '{program.name}': {program.entry_point} returned {m.group(2)} for example {m.group(1)} "
                "(0 means success): the C reports a failure for that input; check the input or the model")
    lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
    found = [ln for ln in lines if "runtime error" in ln or "ERROR: AddressSanitizer" in ln or "edgeml-runner" in ln]
    where = [ln for ln in lines if re.match(r"#\d+ ", ln) and program.entry_point in ln or "in " in ln and ".c:" in ln]
    cause = (found or lines or [f"exit status {res.returncode}"])[0]
    detail = f" ({where[0]})" if where and where[0] != cause else ""
    return (f"program '{program.name}' failed on the host (exit {res.returncode}): {cause}{detail}: "
            + ("fix the C where the sanitizer points" if sanitized else
               "fix the C (runners.host.sanitize=true names the line)"))[:700]
