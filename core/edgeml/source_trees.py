"""Third-party source trees pinned by a content hash, installed into edgeml's cache.

A C library plugin (:class:`edgeml.CLibrary`) whose source no package
registry ships pins one upstream version and lets ``edgeml deps NAME
[--from PATH]`` put it in ``${EDGEML_CACHE_DIR:-~/.cache/edgeml}/<name>``.
Every such plugin needs the same machinery, and the guarantees
:meth:`edgeml.CLibrary.install` asks for are easy to get subtly wrong, so
it lives here once; the plugin keeps only its constants (commit, hash,
which files, env var, wording) and how programs compile the tree.

Why a hash of the content and not of an archive: a forge makes commit
archives on demand and their bytes change when it changes compressors,
while the files inside never do; and a local checkout has no archive at
all. :func:`content_sha256` is sha256 over the lines
``"<sha256 of file>  <relative path>\\n"`` of the selected files
(:func:`select_files`), sorted by path, so it is the same for a checkout,
an unpacked archive and the installed copy.

What :meth:`PinnedTree.install` does, in order:

* a complete cache (its markers present, its stamp file holding the pinned
  hash) returns at once unless ``force``;
* the source is a directory, an archive (``.tar.gz``/``.tgz``/``.tar``/
  ``.zip``; tarfile's ``data`` filter refuses absolute paths, links out of
  the tree and device files, zipfile drops ``..`` and leading slashes) or,
  without ``--from``, a download with a timeout;
* only the selected files are copied (symbolic links followed) into a
  temporary directory beside the cache dir (same file system), hashed, and
  refused naming both hashes unless they match the pin;
* the stamp is written and the directory renamed into place: an
  interrupted or refused install leaves nothing ``locate`` would take, and
  a refused re-install keeps the good copy.

:meth:`PinnedTree.locate` takes ``$<ENV_ROOT>`` first (any tree of that
library, used as it is: its version reads ``"<label> <pin>"`` when its
content is the pinned one, else ``"<label> unpinned checkout (content
sha256 <12 hex>)"``), then the stamped cache. Every error is one line
naming the cause and the fix; the library-specific words come from the
plugin's :class:`Wording`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from collections.abc import Callable, Iterator, Mapping, Sequence

from edgeml.artifacts import file_sha256
from edgeml.components import CLibrary
from edgeml.errors import DataError, EdgeMLError, IncompatibleError
from edgeml.programs import LibraryFiles
from edgeml.progress import Progress

__all__ = [
    "ENV_CACHE", "STAMP", "PinnedTree", "PinnedTreeLibrary", "Wording", "cache_root", "content_sha256",
    "copy_files", "file_sha256", "missing_markers", "put_in_place", "run_fetch_command", "select_files",
    "staging", "unpack",
]

#: The environment variable that moves edgeml's cache (default ``~/.cache/edgeml``).
ENV_CACHE = "EDGEML_CACHE_DIR"
#: The file an install writes last, holding the content hash it checked.
STAMP = ".edgeml-content-sha256"
#: How many missing paths an error names: enough to tell what the directory is, and the line stays short.
SHOWN_MISSING = 2


def cache_root() -> Path:
    """``$EDGEML_CACHE_DIR``, else ``~/.cache/edgeml`` (read at each call, so tests can move it)."""
    base = os.environ.get(ENV_CACHE) or str(Path.home() / ".cache" / "edgeml")
    return Path(base).expanduser()


def select_files(root: Path, dirs: Sequence[str] = (), files: Sequence[str] = (),
                 keep: Callable[[str], bool] | None = None, prefix: str = "") -> dict[str, Path]:
    """Install path (posix) -> file under ``root``: every file below each of ``dirs`` (``"."``: ``root``
    itself) that ``keep`` accepts, and each of ``files`` that exists.

    ``keep`` gets the path relative to ``root``; ``prefix`` is put before every install path (to place a
    subtree, e.g. ``"vendor/zlib/"``). Symbolic links to files count as files; linked directories are not
    walked (as :meth:`pathlib.Path.rglob`)."""
    root = Path(root)
    out: dict[str, Path] = {}
    for top in dirs:
        base = root / top
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            rel = path.relative_to(root).as_posix()
            if path.is_file() and (keep is None or keep(rel)):
                out[prefix + rel] = path
    for name in files:
        if (root / name).is_file():
            out[prefix + PurePosixPath(name).as_posix()] = root / name
    return out


def content_sha256(files: Mapping[str, Path]) -> str:
    """sha256 over ``"<sha256 of file>  <install path>\\n"`` of every entry, in path order."""
    h = hashlib.sha256()
    for rel, path in sorted(files.items()):
        h.update(f"{file_sha256(path)}  {rel}\n".encode())
    return h.hexdigest()


def missing_markers(root: Path, markers: Sequence[str]) -> list[str]:
    """The ``markers`` (paths; a directory ends in ``/``) that ``root`` lacks: empty means it is the tree."""
    root = Path(root)
    return [m for m in markers if not ((root / m).is_dir() if m.endswith("/") else (root / m).is_file())]


def copy_files(files: Mapping[str, Path], into: Path) -> None:
    """Copy each file of ``files`` to ``into / install path`` (``into`` is new); links are followed, so the
    copy holds plain files and the content hash judges what they hold."""
    into = Path(into)
    into.mkdir(parents=True)
    for rel, path in files.items():
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, into / rel)


@contextmanager
def staging(dest: Path) -> Iterator[Path]:
    """A temporary directory beside ``dest`` (same file system, so renaming out of it is atomic), removed
    with whatever is left in it: a refused or interrupted install leaves no copy behind."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
        yield Path(tmp)


def put_in_place(staged: Path, dest: Path, tmp: Path, done: Callable[[Path], bool] | None = None) -> Path:
    """Rename the checked ``staged`` directory to ``dest``; an old ``dest`` moves into ``tmp`` (the
    :func:`staging` directory, so it goes with it). If the rename fails but ``done(dest)`` says another
    install finished first, that copy is kept."""
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        dest.rename(Path(tmp) / "replaced")
    try:
        Path(staged).rename(dest)
    except OSError:
        if done is None or not done(dest):
            raise
    return dest


def unpack(archive: Path, into: Path, give: str) -> Path:
    """Unpack a .tar(.gz)/.tgz/.zip ``archive`` into the new directory ``into`` and return it.

    A broken archive is a one-line DataError ending ``give <give>`` (what to give instead)."""
    into = Path(into)
    into.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(into)
        else:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{archive} could not be unpacked ({' '.join(str(exc).split())}): give {give}") from exc
    return into


@dataclass(frozen=True)
class Wording:
    """The library's own words in the one-line errors of :class:`PinnedTree`; each completes a sentence.

    * ``not_found``: the whole message when neither the env root nor the cache has the tree;
    * ``$ENV=<path> is not {env_tree} (no <missing>): {env_fix}``;
    * ``<origin> holds no {source_tree} (no <missing>): {source_fix}``;
    * ``<path>: no such file or directory: give {give_source}``;
    * ``<archive> could not be unpacked (<why>): give {give_archive}``;
    * ``<origin> is not {pinned}: its {hashed} hash to <got>, expected <pin hash>: {fix_source}``
      (``{fix_download}`` when the tree was downloaded);
    * ``could not download <label> from <url> (<why>): this machine may have no internet access;
      {offline_fix}``;
    * ``no_download``: the whole message when there is no ``--from`` and no download URL.
    """

    not_found: str
    env_tree: str
    env_fix: str
    source_tree: str
    source_fix: str
    give_source: str
    give_archive: str
    pinned: str
    hashed: str
    fix_source: str
    fix_download: str = ""
    offline_fix: str = ""
    no_download: str = ""


@dataclass(frozen=True)
class PinnedTree:
    """One pinned upstream tree: what is installed, where, how it is checked, and the words of its errors.

    ``content(root)`` maps install paths to files of a checkout *or* of an install (the same map for
    both, so the hash is comparable; usually :func:`select_files`); ``missing(root)`` lists what ``root``
    lacks to be that library's tree (usually :func:`missing_markers`)."""

    label: str                                  # "Foo": versions read "Foo <pin>"
    pin: str                                    # the pinned version's short name, e.g. commit[:12]
    content_sha256: str                         # content_sha256(content(pinned tree))
    cache_name: str                             # the install's directory under cache_root()
    env_root: str                               # variable naming a tree to use as it is
    content: Callable[[Path], dict[str, Path]]
    missing: Callable[[Path], list[str]]
    words: Wording
    stamp: str = STAMP

    @property
    def pinned_version(self) -> str:
        return f"{self.label} {self.pin}"

    def cache_dir(self) -> Path:
        """Where ``install`` puts the pinned tree: ``cache_root() / cache_name``."""
        return cache_root() / self.cache_name

    def content_hash(self, root: Path) -> str:
        return content_sha256(self.content(Path(root)))

    def is_installed(self, root: Path) -> bool:
        """``root`` is a complete install of the pinned tree: nothing missing, and the right stamp."""
        try:
            return not self.missing(root) and (Path(root) / self.stamp).read_text().strip() == self.content_sha256
        except OSError:
            return False

    def locate(self) -> tuple[Path, str]:
        """(root, version) from ``$env_root`` (as it is; version says pinned or unpinned), else the cache."""
        env = os.environ.get(self.env_root)
        if env:
            root = Path(env).expanduser().resolve()
            missing = self.missing(root)
            if missing:
                raise IncompatibleError(f"{self.env_root}={env} is not {self.words.env_tree} (no "
                                        f"{', '.join(missing[:SHOWN_MISSING])}): {self.words.env_fix}")
            got = self.content_hash(root)
            return root, (self.pinned_version if got == self.content_sha256 else
                          f"{self.label} unpinned checkout (content sha256 {got[:12]})")
        root = self.cache_dir()
        if self.is_installed(root):
            return root.resolve(), self.pinned_version
        raise IncompatibleError(self.words.not_found)

    def missing_reason(self) -> str | None:
        """``None`` when :meth:`locate` finds the tree, else its one-line reason (for test skips)."""
        try:
            self.locate()
        except EdgeMLError as exc:
            return str(exc)
        return None

    def find(self, root: Path, origin: str) -> Path:
        """The tree in ``root``: ``root`` itself, or its single top directory holding one (an archive's)."""
        if not self.missing(root):
            return root
        candidates = [d for d in sorted(root.iterdir()) if d.is_dir() and not self.missing(d)]
        if len(candidates) == 1:
            return candidates[0]
        raise DataError(f"{origin} holds no {self.words.source_tree} (no "
                        f"{', '.join(self.missing(root)[:SHOWN_MISSING])}): {self.words.source_fix}")

    def download(self, url: str, to: Path, progress: Progress, timeout_s: float) -> Path:
        """``url`` saved as ``to``; no answer within ``timeout_s`` (connect or a read), a refused
        connection or an HTTP error is a one-line DataError with the offline fix."""
        progress.message(f"downloading {url} (gives up after {timeout_s:g} s without an answer)")
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp, open(to, "wb") as out:
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
            raise DataError(f"could not download {self.label} from {url} ({reason}): this machine may have no "
                            f"internet access; {self.words.offline_fix}") from exc
        return to

    def install(self, source: Path | None = None, progress: Progress | None = None, force: bool = False,
                dest: Path | None = None, url: str | None = None, timeout_s: float = 30.0) -> Path:
        """Make sure the pinned tree is in ``dest`` (default: :meth:`cache_dir`) and return ``dest``.

        ``source``: a directory or an archive holding the tree; without it, the archive at ``url`` (no
        ``url``: :attr:`Wording.no_download`). See the module docstring for the steps and guarantees."""
        progress = progress or Progress(enabled=False)
        dest = Path(dest) if dest is not None else self.cache_dir()
        if not force and self.is_installed(dest):
            return dest
        if source is None and url is None:
            raise DataError(self.words.no_download)
        source = Path(source).expanduser().resolve() if source is not None else None
        if source is not None and not source.exists():
            raise DataError(f"{source}: no such file or directory: give {self.words.give_source}")
        with staging(dest) as tmp:
            if source is None:
                origin = str(url)
                archive = self.download(origin, tmp / "archive.tar.gz", progress, timeout_s)
                tree = self.find(unpack(archive, tmp / "unpacked", self.words.give_archive), origin)
            elif source.is_dir():
                origin = str(source)
                tree = self.find(source, origin)
            else:
                origin = str(source)
                progress.message(f"unpacking {source.name}")
                tree = self.find(unpack(source, tmp / "unpacked", self.words.give_archive), origin)
            staged = tmp / "tree"
            copy_files(self.content(tree), staged)
            got = self.content_hash(staged)
            if got != self.content_sha256:
                fix = self.words.fix_download if source is None else self.words.fix_source
                raise DataError(f"{origin} is not {self.words.pinned}: its {self.words.hashed} hash to {got}, "
                                f"expected {self.content_sha256}: {fix}")
            (staged / self.stamp).write_text(self.content_sha256 + "\n")
            put_in_place(staged, dest, tmp, done=self.is_installed)
        progress.message(f"installed {self.pinned_version} (content sha256 {self.content_sha256[:12]}) in {dest}")
        return dest


class PinnedTreeLibrary(CLibrary):
    """A :class:`edgeml.CLibrary` whose source is the :class:`PinnedTree` :attr:`tree`.

    A subclass sets ``name``, ``description`` and ``tree`` and says how programs compile the tree
    (:meth:`library_files`); it overrides :meth:`fetch` only to pass a download URL."""

    tree: PinnedTree

    def library_files(self, root: Path, version: str) -> LibraryFiles:
        """Include dirs, defines and flags of the tree at ``root``."""
        raise NotImplementedError

    def fetch(self, source: Path | None, progress: Progress | None, force: bool) -> Path:
        """Install the pinned tree into the cache and return its directory."""
        return self.tree.install(source, progress=progress, force=force)

    def locate(self) -> LibraryFiles:
        root, version = self.tree.locate()
        return self.library_files(root, version)

    def install(self, source: Path | None = None, progress: Progress | None = None,
                force: bool = False) -> LibraryFiles:
        root = self.fetch(source, progress, force)
        env = self.tree.env_root
        if os.environ.get(env) and progress is not None:
            progress.message(f"note: {env} is set, so builds use {os.environ[env]}, not this copy")
        return self.library_files(root.resolve(), self.tree.pinned_version)


def run_fetch_command(argv: Sequence[str] | None, *, prog: str, description: str, source_help: str,
                      install: Callable[[Path | None, bool], str],
                      force_help: str = "install again even if the cache is complete") -> int:
    """A plugin's ``python -m PACKAGE.fetch [--from PATH] [--force]``: ``install(source, force)`` returns
    the line printed on success; an edgeml error is printed as ``error: ...`` and sets the exit code."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--from", dest="source", metavar="PATH", help=source_help)
    parser.add_argument("--force", action="store_true", help=force_help)
    args = parser.parse_args(argv)
    try:
        line = install(Path(args.source) if args.source else None, args.force)
    except EdgeMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(line)
    return 0
