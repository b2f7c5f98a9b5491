"""Where CMSIS-NN's C source is on this machine: the C library ``cmsis-nn``.

CMSIS-NN (Arm, Apache-2.0) is pinned to one commit of
github.com/ARM-software/CMSIS-NN, :data:`COMMIT`, because the generated C
calls its kernels with the argument structs and scratch sizes of that
version, and parity with TFLM was established against it. It is looked
for, in order:

* at ``$EDGEML_CMSIS_NN_ROOT``: any CMSIS-NN tree (a checkout), taken as it
  is. Its content is hashed, so the version a report quotes says whether it
  is the pinned commit or an "unpinned checkout";
* in the cache ``edgeml deps cmsis-nn`` fills,
  ``${EDGEML_CACHE_DIR:-~/.cache/edgeml}/cmsis-nn-<commit[:12]>``, which
  holds only ``Include/``, ``Source/`` and ``LICENSE`` and a stamp written
  once their content hash matched :data:`CONTENT_SHA256`.

How it is compiled (what :meth:`CmsisNn.locate` returns): the include dir
``Include`` and nothing else. No defines: the kernels pick their DSP/MVE
variants from the compiler's ``__ARM_FEATURE_DSP``/``__ARM_FEATURE_MVE``
(``-mcpu``), and on the host or a Cortex-M0+ they are the plain C ones.
No ``-ffreestanding``: the kernels use ``string.h`` (memcpy, memset), which
both the host's libc and newlib provide.

Why a content hash and not the archive's sha256: GitHub makes
``archive/<commit>.tar.gz`` on demand and its bytes have changed when
GitHub changed compressors, while the files inside never do. The hash is
sha256 over the lines ``"<sha256 of file>  <relative path>\\n"`` of every
file under ``Include/`` and ``Source/`` plus ``LICENSE``, sorted by path
(:func:`content_hash`); it was computed from
``git archive 99f736a6`` of the upstream repository.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import edgeml

#: The pinned upstream commit (github.com/ARM-software/CMSIS-NN).
COMMIT = "99f736a63036613032f9b70de36b493bcd7802d4"
#: content_hash() of that commit's Include/, Source/ and LICENSE.
CONTENT_SHA256 = "bb4385989077f940b124e3acf70509c740bbc634d6538f06d51d4a2e711d1d42"
ENV_ROOT = "EDGEML_CMSIS_NN_ROOT"
ENV_CACHE = "EDGEML_CACHE_DIR"
#: The command that installs the pinned source (tests print it when they skip).
FETCH_COMMAND = "edgeml deps cmsis-nn"
#: CMSIS-NN left-shifts negative values (e.g. the softmax's ``arm_nn_requantize`` path in
#: ``arm_nnsupportfunctions.h``). C99 leaves that undefined, but GCC defines it as two's complement
#: ("GCC does not use the latitude given in C99 and C11 only to treat certain aspects of signed '<<' as
#: undefined", GCC manual, Integers implementation), so the result is what TFLM computes; UBSan would still
#: stop a sanitized host run on it. Every other UBSan and ASan check stays on.
FLAGS = ("-fno-sanitize=shift-base",)
#: What of a checkout is hashed and installed: the library, not its tests or docs.
CONTENT_DIRS = ("Include", "Source")
CONTENT_FILES = ("LICENSE",)
#: Paths whose presence says a directory is a CMSIS-NN tree (directories end in "/").
MARKERS = ("Include/arm_nnfunctions.h", "Source/")
#: Written into the cache once the content hash matched: that hash.
STAMP = ".edgeml-content-sha256"
PINNED_VERSION = f"CMSIS-NN {COMMIT[:12]}"
INSTALL_HINT = (f"run `{FETCH_COMMAND}` (downloads commit {COMMIT[:12]}), or `{FETCH_COMMAND} --from PATH` with a "
                f"checkout or archive of it, or set {ENV_ROOT} to a CMSIS-NN checkout")


def cache_root() -> Path:
    base = os.environ.get(ENV_CACHE) or str(Path.home() / ".cache" / "edgeml")
    return Path(base).expanduser()


def cache_dir() -> Path:
    """Where ``edgeml deps cmsis-nn`` installs the pinned commit."""
    return cache_root() / f"cmsis-nn-{COMMIT[:12]}"


def missing_files(root: Path) -> list[str]:
    """The markers ``root`` lacks (empty: it is a CMSIS-NN tree)."""
    root = Path(root)
    return [m for m in MARKERS if not ((root / m).is_dir() if m.endswith("/") else (root / m).is_file())]


def content_files(root: Path) -> list[str]:
    """The relative paths (posix) :func:`content_hash` covers, sorted."""
    root = Path(root)
    found = [p.relative_to(root).as_posix() for top in CONTENT_DIRS if (root / top).is_dir()
             for p in (root / top).rglob("*") if p.is_file()]
    found += [name for name in CONTENT_FILES if (root / name).is_file()]
    return sorted(found)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_hash(root: Path) -> str:
    """sha256 over ``"<sha256>  <path>\\n"`` of each of :func:`content_files`, in path order."""
    root = Path(root)
    h = hashlib.sha256()
    for rel in content_files(root):
        h.update(f"{file_sha256(root / rel)}  {rel}\n".encode())
    return h.hexdigest()


def is_installed(root: Path) -> bool:
    """``root`` is a complete install of the pinned commit: a CMSIS-NN tree with the right stamp."""
    stamp = Path(root) / STAMP
    try:
        return not missing_files(root) and stamp.read_text().strip() == CONTENT_SHA256
    except OSError:
        return False


def missing_reason() -> str | None:
    """``None`` when :meth:`CmsisNn.locate` finds the source, else its one-line reason (for test skips)."""
    try:
        CmsisNn().locate()
    except edgeml.EdgeMLError as exc:
        return str(exc)
    return None


class CmsisNn(edgeml.CLibrary):
    """CMSIS-NN's C source at the pinned commit (or ``$EDGEML_CMSIS_NN_ROOT`` as it is)."""

    name = "cmsis-nn"
    version = "0.1.0"
    description = (f"CMSIS-NN C source (Arm, Apache-2.0) at commit {COMMIT[:12]}; ${ENV_ROOT} or "
                   f"`{FETCH_COMMAND} [--from PATH]`")

    def locate(self) -> edgeml.LibraryFiles:
        env = os.environ.get(ENV_ROOT)
        if env:
            root = Path(env).expanduser().resolve()
            missing = missing_files(root)
            if missing:
                raise edgeml.IncompatibleError(
                    f"{ENV_ROOT}={env} is not a CMSIS-NN tree (no {', '.join(missing)}): point it at a CMSIS-NN "
                    f"checkout (commit {COMMIT[:12]} for the pinned version), or unset it and run `{FETCH_COMMAND}`")
            got = content_hash(root)
            return self._files(root, PINNED_VERSION if got == CONTENT_SHA256 else
                               f"CMSIS-NN unpinned checkout (content sha256 {got[:12]})")
        root = cache_dir()
        if is_installed(root):
            return self._files(root.resolve(), PINNED_VERSION)
        raise edgeml.IncompatibleError(f"CMSIS-NN's C source is not on this machine: {INSTALL_HINT}")

    def install(self, source: Path | None = None, progress: edgeml.Progress | None = None,
                force: bool = False) -> edgeml.LibraryFiles:
        """Install the pinned commit into the cache (see :mod:`edgeml_cmsis_nn.fetch`)."""
        from edgeml_cmsis_nn import fetch

        root = fetch.install(source, progress=progress, force=force)
        if os.environ.get(ENV_ROOT) and progress is not None:
            progress.message(f"note: {ENV_ROOT} is set, so builds use {os.environ[ENV_ROOT]}, not this copy")
        return self._files(root.resolve(), PINNED_VERSION)

    @staticmethod
    def _files(root: Path, version: str) -> edgeml.LibraryFiles:
        return edgeml.LibraryFiles(root=root, include_dirs=[root / "Include"], version=version, defines={},
                                   flags=list(FLAGS))
