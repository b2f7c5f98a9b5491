"""Put TFLM's C++ source at the pinned commit in edgeml's cache: ``edgeml deps tflm --from PATH``.

PATH is a tflite-micro checkout of :data:`~edgeml_tflm.library.COMMIT` (a
directory, or a ``.tar.gz``/``.tgz``/``.tar``/``.zip`` archive of one) on
which TFLM's own ``make -f tensorflow/lite/micro/tools/make/Makefile
third_party_downloads`` has run, so that its
``tensorflow/lite/micro/tools/make/downloads/`` holds flatbuffers (patched),
gemmlowp and ruy at the versions that commit pins. There is no download
without PATH: the install is four repositories plus a patch, and TFLM's
Makefile is the tool that already fetches and patches them.

As for CMSIS-NN: only what programs compile is copied (sources and headers
of ``tensorflow/`` and ``signal/`` without tests, examples or tools; the
three header sets; the LICENSEs), the copy's content hash must be
:data:`~edgeml_tflm.library.CONTENT_SHA256` (anything else is refused, naming
both hashes), everything happens in a temporary directory beside the cache
and is renamed into place with a stamp once checked, and a complete cache
returns at once (``force``: again): :meth:`edgeml.source_trees.PinnedTree.install`.
"""

from __future__ import annotations

from pathlib import Path

import edgeml
from edgeml import source_trees
from edgeml_tflm.library import COMMIT, TREE


def install(source: Path | None = None, progress: edgeml.Progress | None = None, force: bool = False,
            dest: Path | None = None) -> Path:
    """Make sure the pinned commit's sources and downloads are in ``dest`` (default: the cache)."""
    return TREE.install(source, progress=progress, force=force, dest=dest)


def main(argv: list[str] | None = None) -> int:
    """``python -m edgeml_tflm.fetch --from PATH``: the same as ``edgeml deps tflm --from PATH``."""
    def run(source: Path | None, force: bool) -> str:
        path = install(source, progress=edgeml.Progress(prefix="tflm: "), force=force)
        return f"tflm: TFLM {COMMIT[:12]} in {path}"

    return source_trees.run_fetch_command(argv, prog="python -m edgeml_tflm.fetch",
                                          description=__doc__.splitlines()[0], install=run,
                                          source_help="a tflite-micro checkout or archive")


if __name__ == "__main__":
    raise SystemExit(main())
