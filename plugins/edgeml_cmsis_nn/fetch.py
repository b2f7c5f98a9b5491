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
leading slashes).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import edgeml
from edgeml_cmsis_nn.library import (
    COMMIT, CONTENT_DIRS, CONTENT_FILES, CONTENT_SHA256, ENV_ROOT, FETCH_COMMAND, STAMP, cache_dir,
    content_hash, is_installed, missing_files,
)

#: GitHub's archive of the pinned commit; a module constant so a test can point it at a closed port.
ARCHIVE_URL = f"https://github.com/ARM-software/CMSIS-NN/archive/{COMMIT}.tar.gz"
#: Seconds without an answer before the download gives up (connect and each read).
TIMEOUT_S = 30.0
OFFLINE_FIX = (f"run `{FETCH_COMMAND} --from PATH` with a checkout (or .tar.gz/.zip archive) of commit {COMMIT}, "
               f"or set {ENV_ROOT} to a CMSIS-NN checkout")


def install(source: Path | None = None, progress: edgeml.Progress | None = None, force: bool = False,
            dest: Path | None = None) -> Path:
    """Make sure the pinned commit's Include/, Source/ and LICENSE are in ``dest`` (default: the cache)."""
    progress = progress or edgeml.Progress(enabled=False)
    dest = Path(dest) if dest is not None else cache_dir()
    if not force and is_installed(dest):
        return dest
    source = Path(source).expanduser().resolve() if source is not None else None
    if source is not None and not source.exists():
        raise edgeml.DataError(f"{source}: no such file or directory: give a CMSIS-NN checkout or archive of "
                               f"commit {COMMIT}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
        tmp = Path(tmp)
        if source is None:
            origin = ARCHIVE_URL
            tree = find_tree(unpack(download(ARCHIVE_URL, tmp / "archive.tar.gz", progress), tmp / "unpacked"),
                             origin)
        elif source.is_dir():
            origin = str(source)
            tree = find_tree(source, origin)
        else:
            origin = str(source)
            progress.message(f"unpacking {source.name}")
            tree = find_tree(unpack(source, tmp / "unpacked"), origin)
        staged = tmp / "tree"
        copy_content(tree, staged)
        got = content_hash(staged)
        if got != CONTENT_SHA256:
            raise edgeml.DataError(mismatch_message(origin, got, downloaded=source is None))
        (staged / STAMP).write_text(CONTENT_SHA256 + "\n")
        if dest.exists() or dest.is_symlink():
            dest.rename(tmp / "replaced")  # same file system: the old copy goes with tmp
        try:
            staged.rename(dest)
        except OSError:
            if not is_installed(dest):  # not another install that finished first
                raise
    progress.message(f"installed commit {COMMIT[:12]} (content sha256 {CONTENT_SHA256[:12]}) in {dest}")
    return dest


def mismatch_message(origin: str, got: str, downloaded: bool) -> str:
    what = f"{origin} is not CMSIS-NN at the pinned commit {COMMIT}: its Include/, Source/ and LICENSE hash to " \
           f"{got}, expected {CONTENT_SHA256}"
    if downloaded:
        return f"{what}: the download is not that commit's content; run `{FETCH_COMMAND} --force` again, or " \
               f"{OFFLINE_FIX}"
    return f"{what}: check out that commit (git -C PATH checkout {COMMIT[:12]}) and run `{FETCH_COMMAND} --from " \
           f"PATH` again, or set {ENV_ROOT} to this tree to build with it as it is (reported as unpinned)"


def download(url: str, to: Path, progress: edgeml.Progress) -> Path:
    """``url`` saved as ``to``; no answer, a refused connection or an HTTP error is one-line DataError."""
    progress.message(f"downloading {url} (gives up after {TIMEOUT_S:g} s without an answer)")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp, open(to, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            for block in iter(lambda: resp.read(1 << 16), b""):
                out.write(block)
                done += len(block)
                if total:
                    progress.update(done, total, "download")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        reason = " ".join(str(reason).split()) or type(exc).__name__
        raise edgeml.DataError(f"could not download CMSIS-NN from {url} ({reason}): this machine may have no "
                               f"internet access; {OFFLINE_FIX}") from exc
    return to


def unpack(archive: Path, into: Path) -> Path:
    """Unpack a .tar(.gz)/.tgz/.zip archive into ``into`` (a new directory) and return it."""
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
                               f".zip of CMSIS-NN commit {COMMIT[:12]}, or a checkout directory") from exc
    return into


def find_tree(root: Path, origin: str) -> Path:
    """The CMSIS-NN tree in ``root``: ``root`` itself, or its single top directory (an archive's)."""
    if not missing_files(root):
        return root
    candidates = [d for d in sorted(root.iterdir()) if d.is_dir() and not missing_files(d)]
    if len(candidates) == 1:
        return candidates[0]
    raise edgeml.DataError(f"{origin} holds no CMSIS-NN tree (no {', '.join(missing_files(root))}): give a checkout "
                           f"of github.com/ARM-software/CMSIS-NN at commit {COMMIT[:12]}, or its archive")


def copy_content(tree: Path, staged: Path) -> None:
    """Copy what programs compile (Include/, Source/, LICENSE) from ``tree`` into the new dir ``staged``.

    Symbolic links are followed: the copy holds plain files, and the content hash judges what they hold."""
    staged.mkdir()
    for name in CONTENT_DIRS:
        if (tree / name).is_dir():
            shutil.copytree(tree / name, staged / name, symlinks=False)
    for name in CONTENT_FILES:
        if (tree / name).is_file():
            shutil.copyfile(tree / name, staged / name)


def main(argv: list[str] | None = None) -> int:
    """``python -m edgeml_cmsis_nn.fetch``: the same as ``edgeml deps cmsis-nn``."""
    parser = argparse.ArgumentParser(prog="python -m edgeml_cmsis_nn.fetch", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", metavar="PATH", help="a local checkout or archive of the commit")
    parser.add_argument("--force", action="store_true", help="install again even if the cache is complete")
    args = parser.parse_args(argv)
    try:
        path = install(Path(args.source) if args.source else None, progress=edgeml.Progress(prefix="cmsis-nn: "),
                       force=args.force)
    except edgeml.EdgeMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"cmsis-nn: CMSIS-NN {COMMIT[:12]} in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
