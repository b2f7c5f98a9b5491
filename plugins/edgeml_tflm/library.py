"""Where TensorFlow Lite for Microcontrollers' C++ source is on this machine: the C library ``tflm``.

The ``tflm`` backend's deliverable (model array, op resolver, init/invoke) is
C++ against TFLM's headers; to build it into firmware the runners need TFLM
itself, which no package registry ships as source. It is pinned to one commit
of github.com/tensorflow/tflite-micro, :data:`COMMIT`, with the three
third-party header sets TFLM's Makefile downloads for that commit
(``tensorflow/lite/micro/tools/make/third_party_downloads.inc`` and
``flatbuffers_download.sh``):

* flatbuffers v25.9.23, with TFLM's ``flatbuffers.patch`` applied (what
  ``make third_party_downloads`` leaves): ``schema_generated.h``
  static_asserts exactly that version;
* gemmlowp 719139ce (``fixedpoint/``, ``internal/detect_platform.h``): the
  fixed-point arithmetic of the int8 kernels;
* ruy d3712831 (``ruy/profiler/instrumentation.h``, empty macros unless
  RUY_PROFILER is defined).

It is looked for at ``$EDGEML_TFLM_ROOT`` (a TFLM checkout after ``make -f
tensorflow/lite/micro/tools/make/Makefile third_party_downloads``, taken as it
is, reported as unpinned unless its content hash matches), else in the cache
``edgeml deps tflm --from PATH`` fills,
``${EDGEML_CACHE_DIR:-~/.cache/edgeml}/tflm-<commit[:12]>``: the C++ sources
and headers of ``tensorflow/`` and ``signal/`` (no tests, examples or tools),
TFLM's LICENSE, and ``downloads/{flatbuffers,gemmlowp,ruy}`` with their
LICENSEs, plus a stamp written once their content hash (as for CMSIS-NN:
sha256 over ``"<sha256>  <path>\\n"`` lines, sorted) matched
:data:`CONTENT_SHA256`.

How it is compiled (:meth:`Tflm.locate`): include dirs root, flatbuffers'
``include``, gemmlowp and ruy; ``TF_LITE_STATIC_MEMORY`` (the micro build:
no heap in TfLiteTensor handling), ``TF_LITE_DISABLE_X86_NEON`` and
``TF_LITE_MCU_DEBUG_LOG`` as TFLM's cortex_m_generic target sets them. Which
files a model compiles is :mod:`edgeml_tflm.firmware_sources`. Finding,
checking and installing the tree is
:class:`edgeml.source_trees.PinnedTree`'s work; this module holds what is
TFLM's.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import edgeml
from edgeml import source_trees

#: The pinned upstream commit (github.com/tensorflow/tflite-micro).
COMMIT = "90b983c2b3f1480642e040bbd2ddb37b998f3424"
#: The third-party code TFLM's Makefile downloads for that commit: name -> (version, what is kept).
THIRD_PARTY = {
    "flatbuffers": ("v25.9.23 + TFLM's flatbuffers.patch", ("include/flatbuffers/", "LICENSE")),
    "gemmlowp": ("719139ce755a0f31cbf1c37f7f98adcc7fc9f425", ("fixedpoint/", "internal/detect_platform.h",
                                                              "LICENSE")),
    "ruy": ("d37128311b445e758136b8602d1bbd2a755e115d", ("ruy/profiler/instrumentation.h", "LICENSE")),
}
#: content_hash() of the install made from that commit and those downloads.
CONTENT_SHA256 = "c4c0dd5073004c137d474f69f170e18e54196a18d38e687d2fc33b3945614739"
ENV_ROOT = "EDGEML_TFLM_ROOT"
ENV_CACHE = source_trees.ENV_CACHE
FETCH_COMMAND = "edgeml deps tflm"
#: Where a TFLM checkout keeps the third-party code after ``make third_party_downloads``; the install's
#: ``downloads/``.
CHECKOUT_DOWNLOADS = "tensorflow/lite/micro/tools/make/downloads"
INSTALL_DOWNLOADS = "downloads"
#: The source trees kept, and the parts of them that are not the library.
SOURCE_DIRS = ("tensorflow", "signal")
SOURCE_SUFFIXES = (".h", ".cc", ".c")
EXCLUDED_PARTS = ("examples", "tools", "integration_tests", "python", "testing", "benchmarks", "testdata",
                  "test_data", "docs")
MARKERS = ("tensorflow/lite/micro/micro_interpreter.h", "tensorflow/lite/schema/schema_generated.h")
STAMP = source_trees.STAMP
PINNED_VERSION = f"TFLM {COMMIT[:12]}"
DEFINES = {"TF_LITE_STATIC_MEMORY": "", "TF_LITE_DISABLE_X86_NEON": "", "TF_LITE_MCU_DEBUG_LOG": ""}
INSTALL_HINT = (f"run `{FETCH_COMMAND} --from PATH` with a tflite-micro checkout of commit {COMMIT[:12]} on which "
                "`make -f tensorflow/lite/micro/tools/make/Makefile third_party_downloads` has run, or set "
                f"{ENV_ROOT} to such a checkout")
MAKE_DOWNLOADS = "make -f tensorflow/lite/micro/tools/make/Makefile third_party_downloads"


def downloads_dir(root: Path) -> Path:
    """The third-party dir of an install (``downloads/``) or of a checkout (TFLM's make downloads dir)."""
    root = Path(root)
    return root / INSTALL_DOWNLOADS if (root / INSTALL_DOWNLOADS).is_dir() else root / CHECKOUT_DOWNLOADS


def _kept(rel: str) -> bool:
    parts = rel.split("/")
    return rel.endswith(SOURCE_SUFFIXES) and not any(p in EXCLUDED_PARTS for p in parts[:-1]) \
        and not parts[-1].endswith(("_test.cc", "_test.h"))


def _header(rel: str) -> bool:
    return PurePosixPath(rel).suffix == ".h"


def content_map(tree: Path) -> dict[str, Path]:
    """Install path (posix, relative) -> file in ``tree`` (a checkout or an install): what is copied and hashed."""
    out = source_trees.select_files(tree, dirs=SOURCE_DIRS, files=("LICENSE",), keep=_kept)
    downloads = downloads_dir(tree)
    for name, (_, keep) in THIRD_PARTY.items():
        out.update(source_trees.select_files(
            downloads / name, dirs=[k for k in keep if k.endswith("/")], files=[k for k in keep if not k.endswith("/")],
            keep=_header, prefix=f"{INSTALL_DOWNLOADS}/{name}/"))
    return out


def missing_files(tree: Path) -> list[str]:
    """What ``tree`` lacks to be a TFLM checkout with its downloads (empty: complete)."""
    tree = Path(tree)
    missing = [m for m in MARKERS if not (tree / m).is_file()]
    downloads = downloads_dir(tree)
    for name, (_, keep) in THIRD_PARTY.items():
        if not (downloads / name / keep[0]).exists():
            missing.append(f"{CHECKOUT_DOWNLOADS}/{name}/{keep[0]}")
    return missing


TREE = source_trees.PinnedTree(
    label="TFLM", pin=COMMIT[:12], content_sha256=CONTENT_SHA256, cache_name=f"tflm-{COMMIT[:12]}",
    env_root=ENV_ROOT, content=content_map, missing=missing_files, stamp=STAMP,
    words=source_trees.Wording(
        not_found=f"TFLM's C++ source is not on this machine: {INSTALL_HINT}",
        env_tree="a TFLM checkout with its downloads",
        env_fix=f"run `{MAKE_DOWNLOADS}` in it, or unset it and {INSTALL_HINT.split(', or set')[0]}",
        source_tree="tflite-micro checkout with its downloads",
        source_fix=INSTALL_HINT,
        give_source=f"a tflite-micro checkout (or archive) of commit {COMMIT[:12]}",
        give_archive="a .tar.gz or .zip of a tflite-micro checkout, or the checkout directory",
        pinned=f"tflite-micro {COMMIT[:12]} with its pinned downloads",
        hashed="sources and downloads",
        fix_source=(f"check out that commit, run `{MAKE_DOWNLOADS}` in it and run `{FETCH_COMMAND} --from PATH` "
                    f"again, or set {ENV_ROOT} to the tree to build with it as it is (reported as unpinned)"),
        no_download=f"TFLM has no download here (its third-party code needs TFLM's Makefile): {INSTALL_HINT}",
    ))

#: Where ``edgeml deps tflm`` installs the pinned commit.
cache_dir = TREE.cache_dir
#: sha256 over ``"<sha256>  <install path>\n"`` of every file of :func:`content_map`, in path order.
content_hash = TREE.content_hash
is_installed = TREE.is_installed
#: ``None`` when :meth:`Tflm.locate` finds the source, else its one-line reason (for test skips).
missing_reason = TREE.missing_reason


class Tflm(source_trees.PinnedTreeLibrary):
    """TFLM's C++ source at the pinned commit, with flatbuffers, gemmlowp and ruy headers."""

    name = "tflm"
    version = "0.1.0"
    description = (f"TensorFlow Lite for Microcontrollers C++ source (Apache-2.0) at commit {COMMIT[:12]} with its "
                   f"flatbuffers/gemmlowp/ruy headers; ${ENV_ROOT} or `{FETCH_COMMAND} --from PATH`")
    tree = TREE

    def library_files(self, root: Path, version: str) -> edgeml.LibraryFiles:
        downloads = downloads_dir(root)
        return edgeml.LibraryFiles(
            root=root, version=version, defines=dict(DEFINES), flags=[],
            include_dirs=[root, downloads / "flatbuffers" / "include", downloads / "gemmlowp", downloads / "ruy"])
