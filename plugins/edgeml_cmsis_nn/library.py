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
:func:`edgeml.source_trees.content_sha256` of every file under
``Include/`` and ``Source/`` plus ``LICENSE`` (:func:`content_map`); it was
computed from ``git archive 99f736a6`` of the upstream repository. Finding,
checking and installing the tree is :class:`edgeml.source_trees.PinnedTree`'s
work; this module holds what is CMSIS-NN's.
"""

from __future__ import annotations

from pathlib import Path

import edgeml
from edgeml import source_trees

#: The pinned upstream commit (github.com/ARM-software/CMSIS-NN).
COMMIT = "99f736a63036613032f9b70de36b493bcd7802d4"
#: content_hash() of that commit's Include/, Source/ and LICENSE.
CONTENT_SHA256 = "bb4385989077f940b124e3acf70509c740bbc634d6538f06d51d4a2e711d1d42"
ENV_ROOT = "EDGEML_CMSIS_NN_ROOT"
ENV_CACHE = source_trees.ENV_CACHE
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
STAMP = source_trees.STAMP
PINNED_VERSION = f"CMSIS-NN {COMMIT[:12]}"
INSTALL_HINT = (f"run `{FETCH_COMMAND}` (downloads commit {COMMIT[:12]}), or `{FETCH_COMMAND} --from PATH` with a "
                f"checkout or archive of it, or set {ENV_ROOT} to a CMSIS-NN checkout")
#: What to do without internet access (the download's errors end with it).
OFFLINE_FIX = (f"run `{FETCH_COMMAND} --from PATH` with a checkout (or .tar.gz/.zip archive) of commit {COMMIT}, "
               f"or set {ENV_ROOT} to a CMSIS-NN checkout")


def content_map(root: Path) -> dict[str, Path]:
    """Install path -> file: every file under Include/ and Source/, and LICENSE (what is hashed and copied)."""
    return source_trees.select_files(root, dirs=CONTENT_DIRS, files=CONTENT_FILES)


def content_files(root: Path) -> list[str]:
    """The relative paths (posix) :func:`content_hash` covers, sorted."""
    return sorted(content_map(root))


def missing_files(root: Path) -> list[str]:
    """The markers ``root`` lacks (empty: it is a CMSIS-NN tree)."""
    return source_trees.missing_markers(root, MARKERS)


TREE = source_trees.PinnedTree(
    label="CMSIS-NN", pin=COMMIT[:12], content_sha256=CONTENT_SHA256, cache_name=f"cmsis-nn-{COMMIT[:12]}",
    env_root=ENV_ROOT, content=content_map, missing=missing_files, stamp=STAMP,
    words=source_trees.Wording(
        not_found=f"CMSIS-NN's C source is not on this machine: {INSTALL_HINT}",
        env_tree="a CMSIS-NN tree",
        env_fix=(f"point it at a CMSIS-NN checkout (commit {COMMIT[:12]} for the pinned version), or unset it and "
                 f"run `{FETCH_COMMAND}`"),
        source_tree="CMSIS-NN tree",
        source_fix=f"give a checkout of github.com/ARM-software/CMSIS-NN at commit {COMMIT[:12]}, or its archive",
        give_source=f"a CMSIS-NN checkout or archive of commit {COMMIT}",
        give_archive=f"a .tar.gz or .zip of CMSIS-NN commit {COMMIT[:12]}, or a checkout directory",
        pinned=f"CMSIS-NN at the pinned commit {COMMIT}",
        hashed="Include/, Source/ and LICENSE",
        fix_source=(f"check out that commit (git -C PATH checkout {COMMIT[:12]}) and run `{FETCH_COMMAND} --from "
                    f"PATH` again, or set {ENV_ROOT} to this tree to build with it as it is (reported as unpinned)"),
        fix_download=(f"the download is not that commit's content; run `{FETCH_COMMAND} --force` again, or "
                      f"{OFFLINE_FIX}"),
        offline_fix=OFFLINE_FIX,
    ))

#: Where ``edgeml deps cmsis-nn`` installs the pinned commit.
cache_dir = TREE.cache_dir
#: sha256 over ``"<sha256>  <path>\n"`` of each of :func:`content_files`, in path order.
content_hash = TREE.content_hash
#: ``root`` is a complete install of the pinned commit: a CMSIS-NN tree with the right stamp.
is_installed = TREE.is_installed
#: ``None`` when :meth:`CmsisNn.locate` finds the source, else its one-line reason (for test skips).
missing_reason = TREE.missing_reason


class CmsisNn(source_trees.PinnedTreeLibrary):
    """CMSIS-NN's C source at the pinned commit (or ``$EDGEML_CMSIS_NN_ROOT`` as it is)."""

    name = "cmsis-nn"
    version = "0.1.0"
    description = (f"CMSIS-NN C source (Arm, Apache-2.0) at commit {COMMIT[:12]}; ${ENV_ROOT} or "
                   f"`{FETCH_COMMAND} [--from PATH]`")
    tree = TREE

    def fetch(self, source: Path | None, progress: edgeml.Progress | None, force: bool) -> Path:
        """Install the pinned commit into the cache (see :mod:`edgeml_cmsis_nn.fetch`: it holds the URL)."""
        from edgeml_cmsis_nn import fetch

        return fetch.install(source, progress=progress, force=force)

    def library_files(self, root: Path, version: str) -> edgeml.LibraryFiles:
        return edgeml.LibraryFiles(root=root, include_dirs=[root / "Include"], version=version, defines={},
                                   flags=list(FLAGS))
