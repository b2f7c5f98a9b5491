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
returns at once (``force``: again).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import edgeml

from edgeml_tflm.library import (
    COMMIT,
    CONTENT_SHA256,
    ENV_ROOT,
    FETCH_COMMAND,
    INSTALL_HINT,
    STAMP,
    cache_dir,
    content_hash,
    content_map,
    is_installed,
    missing_files,
)


def install(source: Path | None = None, progress: edgeml.Progress | None = None, force: bool = False,
            dest: Path | None = None) -> Path:
    """Make sure the pinned commit's sources and downloads are in ``dest`` (default: the cache)."""
    progress = progress or edgeml.Progress(enabled=False)
    dest = Path(dest) if dest is not None else cache_dir()
    if not force and is_installed(dest):
        return dest
    if source is None:
        raise edgeml.DataError(f"TFLM has no download here (its third-party code needs TFLM's Makefile): "
                               f"{INSTALL_HINT}")
    source = Path(source).expanduser().resolve()
    if not source.exists():
        raise edgeml.DataError(f"{source}: no such file or directory: give a tflite-micro checkout (or archive) of "
                               f"commit {COMMIT[:12]}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
        tmp = Path(tmp)
        if source.is_dir():
            tree = find_tree(source, str(source))
        else:
            progress.message(f"unpacking {source.name}")
            tree = find_tree(unpack(source, tmp / "unpacked"), str(source))
        staged = tmp / "tree"
        for rel, path in content_map(tree).items():
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staged / rel)
        got = content_hash(staged)
        if got != CONTENT_SHA256:
            raise edgeml.DataError(
                f"{source} is not tflite-micro {COMMIT[:12]} with its pinned downloads: its sources and "
                f"downloads hash to {got}, expected {CONTENT_SHA256}: check out that commit, run `make -f "
                f"tensorflow/lite/micro/tools/make/Makefile third_party_downloads` in it and run `{FETCH_COMMAND} "
                f"--from PATH` again, or set {ENV_ROOT} to the tree to build with it as it is (reported as unpinned)")
        (staged / STAMP).write_text(CONTENT_SHA256 + "\n")
        if dest.exists() or dest.is_symlink():
            dest.rename(tmp / "replaced")
        try:
            staged.rename(dest)
        except OSError:
            if not is_installed(dest):
                raise
    progress.message(f"installed TFLM {COMMIT[:12]} (content sha256 {CONTENT_SHA256[:12]}) in {dest}")
    return dest


def unpack(archive: Path, into: Path) -> Path:
    """Unpack a .tar(.gz)/.tgz/.zip archive into the new directory ``into``."""
    into.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(into)
        else:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise edgeml.DataError(f"{archive} could not be unpacked ({' '.join(str(exc).split())}): give a .tar.gz or "
                               f".zip of a tflite-micro checkout, or the checkout directory") from exc
    return into


def find_tree(root: Path, origin: str) -> Path:
    """The TFLM checkout in ``root``: ``root`` itself, or its single top directory (an archive's)."""
    if not missing_files(root):
        return root
    candidates = [d for d in sorted(root.iterdir()) if d.is_dir() and not missing_files(d)]
    if len(candidates) == 1:
        return candidates[0]
    raise edgeml.DataError(f"{origin} holds no tflite-micro checkout with its downloads (no "
                           f"{', '.join(missing_files(root)[:2])}): {INSTALL_HINT}")


def main(argv: list[str] | None = None) -> int:
    """``python -m edgeml_tflm.fetch --from PATH``: the same as ``edgeml deps tflm --from PATH``."""
    parser = argparse.ArgumentParser(prog="python -m edgeml_tflm.fetch", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", metavar="PATH", help="a tflite-micro checkout or archive")
    parser.add_argument("--force", action="store_true", help="install again even if the cache is complete")
    args = parser.parse_args(argv)
    try:
        path = install(Path(args.source) if args.source else None, progress=edgeml.Progress(prefix="tflm: "),
                       force=args.force)
    except edgeml.EdgeMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"tflm: TFLM {COMMIT[:12]} in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
