"""What every runner does the same way: compile flags from a Program and its libraries, and build commands
whose failure is a one-line error naming the cause.

C++ units (a source ending in .cc, .cpp or .cxx: a runtime such as TFLM is C++) are compiled with the C++
driver (g++), -std=c++17 and the flags embedded C++ is built with (no exceptions, no RTTI, no thread-safe
statics: TFLM's own Makefile flags), and an image holding one is linked with g++; C units are unchanged."""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from edgeml import DataError, LibraryFiles, RunRequest

#: The warning and language flags every build of a deliverable uses (issue 7).
STRICT_FLAGS = ("-O2", "-std=c99", "-Wall", "-Wextra", "-Werror")
#: Third-party library sources (CMSIS-DSP...) are not held to our warnings or C dialect: same
#: optimisation, the compiler's default dialect (gnu17 for GCC 12), warnings not errors.
LIBRARY_FLAGS = ("-O2",)
#: The same for C++ units: our C++ is held to our warnings, a library's is not.
STRICT_CXX_FLAGS = ("-O2", "-std=c++17", "-Wall", "-Wextra", "-Werror")
LIBRARY_CXX_FLAGS = ("-O2", "-std=c++17")
#: Every C++ unit, program or library: what bare-metal C++ is compiled with (TFLM's Makefile CXXFLAGS).
#: The host harness and firmware harness are C, so the image never needs the C++ runtime's startup.
CXX_FLAGS = ("-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics")
CXX_SUFFIXES = (".cc", ".cpp", ".cxx")
#: Units compile in parallel; their lines go to one build log.
_LOG_LOCK = threading.Lock()


@dataclass
class Unit:
    """One C file to compile: ``path`` relative to ``cwd``, so no absolute path reaches the object."""

    cwd: Path
    path: str
    #: A library's source (compiled with LIBRARY_FLAGS) rather than the program's own (STRICT_FLAGS).
    library: bool = False

    @property
    def cplusplus(self) -> bool:
        return self.path.endswith(CXX_SUFFIXES)

    @property
    def base_flags(self) -> tuple[str, ...]:
        if self.cplusplus:
            return (*(LIBRARY_CXX_FLAGS if self.library else STRICT_CXX_FLAGS), *CXX_FLAGS)
        return LIBRARY_FLAGS if self.library else STRICT_FLAGS


def cxx_for(cc: str) -> str:
    """The C++ driver beside the C compiler ``cc`` (``.../arm-none-eabi-gcc`` -> ``.../arm-none-eabi-g++``,
    ``gcc`` -> ``g++``, ``cc`` -> ``c++``); missing is an IncompatibleError naming it."""
    import shutil

    from edgeml import IncompatibleError

    path = Path(cc)
    name = path.name
    if name.endswith("gcc"):
        name = name[:-3] + "g++"
    elif name.endswith("clang"):
        name = name + "++"
    elif name == "cc":
        name = "c++"
    found = shutil.which(str(path.with_name(name))) or shutil.which(name)
    if found is None:
        raise IncompatibleError(f"the program has C++ sources and {name} (the C++ driver beside {cc}) is not "
                                "installed: install the C++ compiler of that toolchain (e.g. apt-get install g++)")
    return found


def compile_all(jobs: list[tuple[list[str], Path, str, bool]], log: Path, request: RunRequest) -> None:
    """Run compile commands ``(cmd, cwd, what, cacheable)`` on every core; the first failure is raised.

    Objects do not depend on the order (each has its own output), so the image is the same. A cacheable
    command (a library's unit) goes through :mod:`edgeml_runners.object_cache`, with the request's program
    root and work dir as the build's own directories."""
    from concurrent.futures import ThreadPoolExecutor

    from edgeml_runners import object_cache

    roots = {"root": Path(request.root), "work": Path(request.work_dir)}

    def one(job):
        cmd, cwd, what, cacheable = job
        if cacheable:
            object_cache.compile(cmd, cwd, what, log, roots)
        else:
            run(cmd, cwd, what, log)

    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        for future in [pool.submit(one, job) for job in jobs]:
            future.result()


def program_flags(request: RunRequest) -> list[str]:
    """Program flags, defines and include dirs, then each library's system includes, defines and flags.

    Program include dirs are relative to ``request.root`` (compiles of program
    sources run there); library include dirs are absolute and passed as
    ``-isystem`` so third-party code is not held to ``-Werror``.
    """
    program = request.program
    flags = list(program.flags)
    flags += [f"-D{k}" if v in ("", None) else f"-D{k}={v}" for k, v in sorted(program.defines.items())]
    root = Path(request.root).resolve()
    flags += [f"-I{(root / d).resolve()}" for d in program.include_dirs]
    for d in program.system_include_dirs:
        flags += ["-isystem", str((root / d).resolve())]
    for name in sorted(program.libraries):
        lib = library(request, name)
        for inc in lib.include_dirs:
            flags += ["-isystem", str(Path(inc).resolve())]
        flags += [f"-D{k}" if v in ("", None) else f"-D{k}={v}" for k, v in sorted(lib.defines.items())]
        flags += list(lib.flags)
    return flags


def prefix_maps(request: RunRequest) -> list[str]:
    """``-ffile-prefix-map`` for the program root, the work dir and every library root: ``__FILE__`` and
    any path the compiler writes become build-directory independent."""
    maps = [f"-ffile-prefix-map={Path(request.root).resolve()}=.",
            f"-ffile-prefix-map={Path(request.work_dir).resolve()}=."]
    for name in sorted(request.program.libraries):
        maps.append(f"-ffile-prefix-map={Path(library(request, name).root).resolve()}={name}")
    return maps


def library(request: RunRequest, name: str) -> LibraryFiles:
    lib = request.libraries.get(name)
    if lib is None:
        raise DataError(f"program '{request.program.name}' needs the C library '{name}', which no plugin located: "
                        f"install the plugin that provides '{name}' (edgeml plugins lists them)")
    return lib


def units(request: RunRequest) -> list[Unit]:
    """The program's sources (relative to its root), then the library sources it names (relative to each
    library's root)."""
    root = Path(request.root).resolve()
    out = []
    for src in request.program.sources:
        if not (root / src).is_file():
            raise DataError(f"program '{request.program.name}': source {src} is not in {root}: re-run the stage "
                            "that exported it")
        out.append(Unit(root, src))
    for name in sorted(request.program.libraries):
        lib = library(request, name)
        for src in request.program.libraries[name]:
            if not (Path(lib.root) / src).is_file():
                raise DataError(f"program '{request.program.name}': library '{name}' has no {src} under {lib.root}: "
                                "the installed library version differs from the one the program was made for")
            out.append(Unit(Path(lib.root).resolve(), src, library=True))
    return out


def first_errors(text: str, limit: int = 3) -> str:
    """The first compiler/linker error lines of ``text``, joined on one line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errs = [ln for ln in lines if "error" in ln.lower()] or lines
    return " | ".join(errs[:limit])[:600]


def run(cmd: list[str], cwd: Path, what: str, log: Path) -> subprocess.CompletedProcess:
    """Run a build command, appending it and its output to ``log``; a failure is a one-line DataError
    with the first error lines."""
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    with _LOG_LOCK, open(log, "a") as fh:
        fh.write(f"$ (cd {cwd}; {' '.join(cmd)})\n{res.stdout}{res.stderr}\n")
    if res.returncode != 0:
        raise DataError(f"{what} failed: {first_errors(res.stderr or res.stdout)}: fix the C")
    return res


def tool_version(tool: str) -> str:
    """The first line of ``tool --version``."""
    res = subprocess.run([tool, "--version"], capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    lines = res.stdout.splitlines()
    return lines[0].strip() if lines else os.path.basename(tool)


def runner_options(config, name: str) -> dict:
    """``config.runners.NAME`` as a plain dict (empty when absent)."""
    node = (config.get("runners") if config is not None else None) or {}
    opts = node.get(name) if hasattr(node, "get") else None
    if opts is None:
        return {}
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(opts):
            return dict(OmegaConf.to_container(opts, resolve=True))
    except ImportError:  # pragma: no cover - omegaconf comes with hydra-core
        pass
    return dict(opts)
