"""Put CMSIS-DSP's C source in edgeml's cache: ``python -m edgeml_cmsis_dsp.fetch``.

Downloads the sdist of the installed ``cmsisdsp`` version from PyPI with pip
(``pip download --no-deps --no-binary :all: --no-build-isolation``), checks
its sha256 against the value pinned here, and unpacks it with tarfile's
``data`` filter (no absolute paths, links out of the tree or device files)
into ``${EDGEML_CACHE_DIR:-~/.cache/edgeml}/cmsisdsp-<version>``. Running it
again when the cache is complete does nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import edgeml
from edgeml_cmsis_dsp.library import DIST, cache_dir, installed_version, is_tree

#: sha256 of the sdist on PyPI per cmsisdsp version (checked against pip's download).
SDIST_SHA256 = {
    "1.10.3": "307d32298faa7c58db912851027fce35f886fec7eb1a27c4b309ce1a97f47519",
}
#: Written into the cache once unpacked: the sha256 of the archive it came from.
STAMP = ".edgeml-sdist-sha256"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def install_archive(archive: Path, dest: Path, expected_sha256: str) -> Path:
    """Check ``archive`` (an sdist .tar.gz) against ``expected_sha256`` and unpack its single top
    directory as ``dest``; a wrong hash or a tree that is not CMSIS-DSP is a DataError and
    leaves ``dest`` untouched."""
    got = sha256(archive)
    if got != expected_sha256:
        raise edgeml.DataError(f"{archive.name} has sha256 {got}, expected {expected_sha256}: the download is "
                               "corrupt or not the pinned release; delete it and run "
                               "`python -m edgeml_cmsis_dsp.fetch` again")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise edgeml.DataError(f"{archive.name} could not be unpacked ({exc}): delete it and run "
                                   "`python -m edgeml_cmsis_dsp.fetch` again") from exc
        tops = [p for p in Path(tmp).iterdir()]
        if len(tops) != 1 or not is_tree(tops[0]):
            raise edgeml.DataError(f"{archive.name} does not hold one CMSIS-DSP source tree (Include/arm_math.h, "
                                   "Source/...): it is not a cmsisdsp sdist")
        (tops[0] / STAMP).write_text(expected_sha256 + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        tops[0].rename(dest)
    return dest


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


def fetch(version: str | None = None, dest: Path | None = None, force: bool = False) -> Path:
    """Make sure CMSIS-DSP's source for ``version`` (default: the installed cmsisdsp) is in the cache."""
    version = version or installed_version()
    expected = SDIST_SHA256.get(version)
    if expected is None:
        raise edgeml.IncompatibleError(f"no sha256 is pinned for the {DIST} {version} sdist (pinned: "
                                       f"{', '.join(SDIST_SHA256)}): install {DIST}=={max(SDIST_SHA256)} or add "
                                       "its hash to edgeml_cmsis_dsp/fetch.py")
    dest = Path(dest) if dest is not None else cache_dir(version)
    stamp = dest / STAMP
    if not force and is_tree(dest) and stamp.is_file() and stamp.read_text().strip() == expected:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".download-") as tmp:
        return install_archive(download(version, Path(tmp)), dest, expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgeml_cmsis_dsp.fetch", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="download and unpack again")
    args = parser.parse_args(argv)
    try:
        path = fetch(force=args.force)
    except edgeml.EdgeMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"CMSIS-DSP C source ({DIST} {installed_version()}) in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
