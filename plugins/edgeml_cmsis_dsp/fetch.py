"""Put CMSIS-DSP's C source in edgeml's cache: ``edgeml deps cmsis-dsp [--from PATH]``
(or ``python -m edgeml_cmsis_dsp.fetch [--from PATH]``, which scripts/setup.sh runs).

Downloads the sdist of the installed ``cmsisdsp`` version from PyPI with pip
(``pip download --no-deps --no-binary :all: --no-build-isolation``), checks
its sha256 against the value pinned here, and unpacks it with tarfile's
``data`` filter (no absolute paths, links out of the tree or device files)
into ``${EDGEML_CACHE_DIR:-~/.cache/edgeml}/cmsisdsp-<version>``. Running it
again when the cache is complete does nothing.

Offline, ``--from PATH`` takes the sdist ``.tar.gz`` (checked against the
same sha256) or an unpacked copy of it: a tree has no archive bytes to
hash, so its content is checked instead (:data:`TREE_SHA256`, a sha256 over
``"<sha256 of file>  <relative path>\n"`` of every file, sorted by path,
computed from the unpacked pinned sdist). Either way the tree is unpacked
or copied into a temporary directory beside the cache dir and renamed into
place once checked, so a refused or interrupted install leaves nothing
(:func:`edgeml.source_trees.staging` and :func:`~edgeml.source_trees.put_in_place`;
the content hash is :func:`edgeml.source_trees.content_sha256`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import edgeml
from edgeml import source_trees
from edgeml_cmsis_dsp.library import DIST, cache_dir, installed_version, is_tree

#: sha256 of the sdist on PyPI per cmsisdsp version (checked against pip's download).
SDIST_SHA256 = {
    "1.10.3": "307d32298faa7c58db912851027fce35f886fec7eb1a27c4b309ce1a97f47519",
}
#: Content hash of the unpacked sdist per version (every file but STAMP; see the module docstring).
TREE_SHA256 = {
    "1.10.3": "6186cbd3570305eabf72577ad59a1010433633c6869d435fb63096c507c9746a",
}
#: Written into the cache once unpacked: the sha256 of the archive it came from (or whose content it has).
STAMP = ".edgeml-sdist-sha256"


def install_archive(archive: Path, dest: Path, expected_sha256: str) -> Path:
    """Check ``archive`` (an sdist .tar.gz) against ``expected_sha256`` and unpack its single top
    directory as ``dest``; a wrong hash or a tree that is not CMSIS-DSP is a DataError and
    leaves ``dest`` untouched."""
    got = source_trees.file_sha256(archive)
    if got != expected_sha256:
        raise edgeml.DataError(f"{archive.name} has sha256 {got}, expected {expected_sha256}: the download is "
                               "corrupt or not the pinned release; delete it and run "
                               "`python -m edgeml_cmsis_dsp.fetch` again")
    with source_trees.staging(dest) as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise edgeml.DataError(f"{archive.name} could not be unpacked ({exc}): delete it and run "
                                   "`python -m edgeml_cmsis_dsp.fetch` again") from exc
        tops = [p for p in tmp.iterdir()]
        if len(tops) != 1 or not is_tree(tops[0]):
            raise edgeml.DataError(f"{archive.name} does not hold one CMSIS-DSP source tree (Include/arm_math.h, "
                                   "Source/...): it is not a cmsisdsp sdist")
        (tops[0] / STAMP).write_text(expected_sha256 + "\n")
        return source_trees.put_in_place(tops[0], dest, tmp)


def download(version: str, into: Path) -> Path:
    """The cmsisdsp ``version`` sdist downloaded by pip into ``into``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--no-build-isolation",
           f"{DIST}=={version}", "-d", str(into)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(Path(into).glob(f"{DIST}-{version}.tar.gz"))
    if res.returncode != 0 or not found:
        last = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise edgeml.DataError(f"pip could not download the {DIST}=={version} sdist ({last[0]}): check the network "
                               "or set EDGEML_CMSIS_DSP_ROOT to an unpacked copy")
    return found[0]


def tree_sha256(root: Path) -> str:
    """sha256 over ``"<sha256>  <relative path>\n"`` of every file under ``root`` but :data:`STAMP`, by path."""
    return source_trees.content_sha256(
        source_trees.select_files(root, dirs=(".",), keep=lambda rel: PurePosixPath(rel).name != STAMP))


def install_tree(tree: Path, dest: Path, version: str) -> Path:
    """Copy an unpacked sdist ``tree`` (or the directory holding only it) as ``dest`` once its content hash is
    the pinned sdist's; otherwise a DataError naming both hashes, and ``dest`` untouched."""
    tree = Path(tree)
    if not is_tree(tree):
        inner = [d for d in sorted(tree.iterdir()) if d.is_dir() and is_tree(d)] if tree.is_dir() else []
        if len(inner) != 1:
            raise edgeml.DataError(f"{tree} is not a CMSIS-DSP tree (Include/arm_math.h, Source/...): give the "
                                   f"{DIST} {version} sdist (.tar.gz) or its unpacked directory")
        tree = inner[0]
    expected_tree, expected_sdist = _pinned(version)
    with source_trees.staging(dest) as tmp:
        staged = tmp / "tree"
        shutil.copytree(tree, staged, symlinks=False, ignore=shutil.ignore_patterns(STAMP))
        got = tree_sha256(staged)
        if got != expected_tree:
            raise edgeml.DataError(f"{tree} is not the unpacked {DIST} {version} sdist: its files hash to {got}, "
                                   f"expected {expected_tree}; give the sdist itself (pip download --no-deps "
                                   f"--no-binary :all: {DIST}=={version}) or an unpacked copy of it, or set "
                                   "EDGEML_CMSIS_DSP_ROOT to this tree to build with it as it is")
        (staged / STAMP).write_text(expected_sdist + "\n")
        return source_trees.put_in_place(staged, dest, tmp)


def _pinned(version: str) -> tuple[str, str]:
    """(tree content hash, sdist sha256) pinned for ``version``; an unpinned version is refused."""
    if version not in SDIST_SHA256 or version not in TREE_SHA256:
        raise edgeml.IncompatibleError(f"no sha256 is pinned for the {DIST} {version} sdist (pinned: "
                                       f"{', '.join(SDIST_SHA256)}): install {DIST}=={max(SDIST_SHA256)} or add "
                                       "its hashes to edgeml_cmsis_dsp/fetch.py")
    return TREE_SHA256[version], SDIST_SHA256[version]


def is_installed(dest: Path, version: str) -> bool:
    """``dest`` is a complete CMSIS-DSP tree stamped with the pinned sdist's sha256."""
    stamp = Path(dest) / STAMP
    return is_tree(dest) and stamp.is_file() and stamp.read_text().strip() == SDIST_SHA256.get(version)


def fetch(version: str | None = None, dest: Path | None = None, force: bool = False) -> Path:
    """Make sure CMSIS-DSP's source for ``version`` (default: the installed cmsisdsp) is in the cache."""
    version = version or installed_version()
    _, expected = _pinned(version)
    dest = Path(dest) if dest is not None else cache_dir(version)
    if not force and is_installed(dest, version):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".download-") as tmp:
        return install_archive(download(version, Path(tmp)), dest, expected)


def install(source: Path | None = None, progress: edgeml.Progress | None = None, force: bool = False,
            version: str | None = None, dest: Path | None = None) -> Path:
    """What ``CmsisDsp.install`` does: :func:`fetch` without ``source``; else install the local sdist
    archive (sha256-checked) or unpacked tree (content-checked) ``source`` into the cache."""
    progress = progress or edgeml.Progress(enabled=False)
    version = version or installed_version()
    _, expected = _pinned(version)
    dest = Path(dest) if dest is not None else cache_dir(version)
    if not force and is_installed(dest, version):
        return dest
    if source is None:
        progress.message(f"downloading the {DIST}=={version} sdist from PyPI with pip")
        return fetch(version, dest, force=True)
    source = Path(source).expanduser()
    if source.is_dir():
        progress.message(f"copying {source}")
        return install_tree(source, dest, version)
    if not source.is_file():
        raise edgeml.DataError(f"{source}: no such file or directory: give the {DIST} {version} sdist (.tar.gz) or "
                               "its unpacked directory")
    progress.message(f"unpacking {source.name}")
    return install_archive(source, dest, expected)


def main(argv: list[str] | None = None) -> int:
    def run(source: Path | None, force: bool) -> str:
        path = install(source, force=force)
        return f"CMSIS-DSP C source ({DIST} {installed_version()}) in {path}"

    return source_trees.run_fetch_command(argv, prog="python -m edgeml_cmsis_dsp.fetch",
                                          description=__doc__.splitlines()[0], install=run,
                                          source_help="the sdist .tar.gz or its unpacked directory, instead of "
                                                      "downloading", force_help="download and unpack again")


if __name__ == "__main__":
    raise SystemExit(main())
