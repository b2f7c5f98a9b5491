"""Where CMSIS-DSP's C source is on this machine, and how programs compile it.

The source is the CMSIS-DSP tree inside the ``cmsisdsp`` sdist on PyPI, at
the version of the installed ``cmsisdsp`` Python package (the features the
model is trained on come from that package, so the device builds the same
C). It is looked for, in order, at ``$EDGEML_CMSIS_DSP_ROOT`` (a CMSIS-DSP
checkout or an unpacked sdist, taken as it is) and in the cache that
``edgeml deps cmsis-dsp`` (:meth:`CmsisDsp.install`, also
``python -m edgeml_cmsis_dsp.fetch``) fills,
``${EDGEML_CACHE_DIR:-~/.cache/edgeml}/cmsisdsp-<version>``.

How it is compiled (what :meth:`CmsisDsp.locate` returns):

* include dirs ``Include`` and ``PrivateInclude`` (``arm_compiler_specific.h``)
  of the tree, and ``shim/`` of this package: CMSIS-Core's
  ``cmsis_compiler.h`` is not in the sdist and ``arm_math_types.h`` includes
  it; the shim gives GCC (arm-none-eabi-gcc for Cortex-M0+/M4/M7, host gcc)
  what CMSIS-DSP uses from it.
* define ``ARM_MATH_LOOPUNROLL``: the cmsisdsp Python package is built with
  it (its setup.py passes ``-DLOOPUNROLL=ON`` to CMake), so float loops sum
  in the same order on the device as in the features the model learnt.
* nothing per core: CMSIS-DSP 1.10 no longer reads ``ARM_MATH_CM4`` and the
  like. ``arm_math_types.h`` sets ``ARM_MATH_DSP`` itself when the compiler
  defines ``__ARM_FEATURE_DSP`` (``-mcpu=cortex-m4``/``cortex-m7``; not M0+,
  not the host), and the MVE/Neon variants key off ``__ARM_FEATURE_MVE`` and
  ``ARM_MATH_NEON``, which no supported target sets. ``__GNUC_PYTHON__``
  (the Python build's switch) is not set: it would disable the DSP
  intrinsics on the M4/M7.
* ``ARM_DSP_CONFIG_TABLES`` is gone in 1.10 (``arm_math_types.h`` errors on
  it): a program keeps only its FFT length's tables by calling the
  length-specific init (``arm_mfcc_init_512_f32``, ``arm_rfft_fast_init_512_f32``)
  and linking with ``-ffunction-sections -fdata-sections --gc-sections``.
"""

from __future__ import annotations

import os
from pathlib import Path

import edgeml

DIST = "cmsisdsp"
ENV_ROOT = "EDGEML_CMSIS_DSP_ROOT"
ENV_CACHE = "EDGEML_CACHE_DIR"
SHIM_DIR = Path(__file__).resolve().parent / "shim"
#: Defines every program that compiles CMSIS-DSP gets (see the module docstring).
DEFINES = {"ARM_MATH_LOOPUNROLL": ""}
#: Files whose presence says a directory is a CMSIS-DSP tree.
MARKERS = ("Include/arm_math.h", "Include/arm_math_types.h", "Source/CommonTables/arm_common_tables.c")
FETCH_HINT = ("run `edgeml deps cmsis-dsp` (scripts/setup.sh does), or `edgeml deps cmsis-dsp --from PATH` with the "
              f"{DIST} sdist or its unpacked directory, or set {ENV_ROOT}")


def installed_version() -> str:
    """The installed cmsisdsp Python package's version, whose sdist holds the matching C source."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DIST)
    except PackageNotFoundError as exc:
        raise edgeml.IncompatibleError("the cmsisdsp Python package is not installed, so the CMSIS-DSP version to "
                                       "build is unknown: run `bash scripts/setup.sh`") from exc


def cache_root() -> Path:
    base = os.environ.get(ENV_CACHE) or str(Path.home() / ".cache" / "edgeml")
    return Path(base).expanduser()


def cache_dir(version: str | None = None) -> Path:
    """Where fetch unpacks the sdist of ``version`` (default: the installed one)."""
    return cache_root() / f"{DIST}-{version or installed_version()}"


def is_tree(root: Path) -> bool:
    return all((root / m).is_file() for m in MARKERS)


def tree_version(root: Path) -> str:
    """``Version:`` from an sdist's PKG-INFO; a git checkout has none."""
    try:
        for line in (root / "PKG-INFO").read_text(errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown (no PKG-INFO: a checkout)"


class CmsisDsp(edgeml.CLibrary):
    """CMSIS-DSP's C source (Arm, Apache-2.0) as the cmsisdsp sdist ships it."""

    name = "cmsis-dsp"
    version = "0.1.0"
    description = ("CMSIS-DSP C source from the cmsisdsp sdist (PyPI), with a cmsis_compiler.h shim for GCC; "
                   f"${ENV_ROOT} or `edgeml deps cmsis-dsp [--from PATH]`")

    def locate(self) -> edgeml.LibraryFiles:
        env = os.environ.get(ENV_ROOT)
        if env:
            root = Path(env).expanduser().resolve()
            if not is_tree(root):
                raise edgeml.IncompatibleError(
                    f"{ENV_ROOT}={env} is not a CMSIS-DSP tree (no {', '.join(m for m in MARKERS if not (root / m).is_file())}): "
                    "point it at a CMSIS-DSP checkout or an unpacked cmsisdsp sdist, or unset it and run "
                    "`edgeml deps cmsis-dsp`")
            return self._files(root, tree_version(root))
        root = cache_dir()
        if is_tree(root):
            return self._files(root.resolve(), tree_version(root))
        raise edgeml.IncompatibleError(f"CMSIS-DSP's C source is not on this machine: {FETCH_HINT}")

    def install(self, source: Path | None = None, progress: edgeml.Progress | None = None,
                force: bool = False) -> edgeml.LibraryFiles:
        """Put the installed cmsisdsp version's sdist tree in the cache: downloaded with pip, or from
        ``source`` (the sdist .tar.gz, sha256-checked, or its unpacked directory, content-checked);
        see :mod:`edgeml_cmsis_dsp.fetch`."""
        from edgeml_cmsis_dsp import fetch

        root = fetch.install(source, progress=progress, force=force)
        if os.environ.get(ENV_ROOT) and progress is not None:
            progress.message(f"note: {ENV_ROOT} is set, so builds use {os.environ[ENV_ROOT]}, not this copy")
        return self._files(root.resolve(), tree_version(root))

    @staticmethod
    def _files(root: Path, version: str) -> edgeml.LibraryFiles:
        return edgeml.LibraryFiles(root=root, include_dirs=[root / "Include", root / "PrivateInclude", SHIM_DIR],
                                   version=version, defines=dict(DEFINES), flags=[])
