"""Put CMSIS-NN's C source at the pinned commit in edgeml's cache: ``edgeml deps cmsis-nn [--from PATH]``.

Without a source it downloads GitHub's archive of the commit
(:data:`ARCHIVE_URL`); with one it takes a local checkout (a directory) or
an archive of it (``.tar.gz``, ``.tgz``, ``.tar``, ``.zip``: GitHub's
"Download ZIP" included), for machines without internet access. Either way:

* only ``Include/``, ``Source/`` and ``LICENSE`` are copied (the tests and
  docs are most of the repository and no program compiles them);
* the copy's content hash must be :data:`~edgeml_cmsis_nn.library.CONTENT_SHA256`,
  the pinned commit's: anything else is refused, naming both hashes. A
  checkout of another commit is used as it is only through
  ``$EDGEML_CMSIS_NN_ROOT``, which reports it as unpinned;
* everything happens in a temporary directory beside the cache directory
  (same file system), renamed into place once checked, with a stamp file
  holding the hash: an interrupted or refused install leaves nothing that
  ``locate`` would take;
* a complete cache with the right stamp returns at once (``force``: again).

Archives are unpacked with tarfile's ``data`` filter (no absolute paths,
links out of the tree or device files) or zipfile (which drops ``..`` and
leading slashes). The steps are :meth:`edgeml.source_trees.PinnedTree.install`;
this module adds the download URL and ``python -m edgeml_cmsis_nn.fetch``.
"""

from __future__ import annotations

from pathlib import Path

import edgeml
from edgeml import source_trees
from edgeml_cmsis_nn.library import COMMIT, OFFLINE_FIX, TREE, content_map  # noqa: F401 (OFFLINE_FIX: public)

#: GitHub's archive of the pinned commit; a module constant so a test can point it at a closed port.
ARCHIVE_URL = f"https://github.com/ARM-software/CMSIS-NN/archive/{COMMIT}.tar.gz"
#: Seconds without an answer before the download gives up (connect and each read).
TIMEOUT_S = 30.0


def install(source: Path | None = None, progress: edgeml.Progress | None = None, force: bool = False,
            dest: Path | None = None) -> Path:
    """Make sure the pinned commit's Include/, Source/ and LICENSE are in ``dest`` (default: the cache)."""
    return TREE.install(source, progress=progress, force=force, dest=dest, url=ARCHIVE_URL, timeout_s=TIMEOUT_S)


def copy_content(tree: Path, staged: Path) -> None:
    """Copy what programs compile (Include/, Source/, LICENSE) from ``tree`` into the new dir ``staged``.

    Symbolic links are followed: the copy holds plain files, and the content hash judges what they hold."""
    source_trees.copy_files(content_map(tree), staged)


def main(argv: list[str] | None = None) -> int:
    """``python -m edgeml_cmsis_nn.fetch``: the same as ``edgeml deps cmsis-nn``."""
    def run(source: Path | None, force: bool) -> str:
        path = install(source, progress=edgeml.Progress(prefix="cmsis-nn: "), force=force)
        return f"cmsis-nn: CMSIS-NN {COMMIT[:12]} in {path}"

    return source_trees.run_fetch_command(argv, prog="python -m edgeml_cmsis_nn.fetch",
                                          description=__doc__.splitlines()[0], install=run,
                                          source_help="a local checkout or archive of the commit")


if __name__ == "__main__":
    raise SystemExit(main())
