"""``edgeml deps cmsis-dsp --from PATH``: the cmsisdsp sdist (sha256-checked) or its unpacked tree
(content-checked) into the cache, offline; a tampered tree is refused and leaves nothing.

The pip download itself is not tested (no network here); the sources are copies of the tree already on
this machine (``$EDGEML_CMSIS_DSP_ROOT``, the cache, or the explored sdist).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import edgeml
from edgeml.cli import deps
from edgeml.plugins import load_registry
from edgeml_cmsis_dsp import fetch, library
from edgeml_cmsis_dsp.library import CmsisDsp

SDISTS = (Path("/tmp/cmsisdsp_sdist/cmsisdsp-1.10.3.tar.gz"), Path("/tmp/pipdl/cmsisdsp-1.10.3.tar.gz"))
#: This machine's copies, read before the tests point the env vars at their own directories.
ENV_TREE = os.environ.get(library.ENV_ROOT)
MACHINE_CACHE = library.cache_dir()


def _pinned_tree() -> Path:
    """An unpacked copy of the pinned sdist on this machine, or a skip naming the fix."""
    version = library.installed_version()
    for cand in (ENV_TREE, MACHINE_CACHE, Path(f"/tmp/cmsisdsp_sdist/{library.DIST}-{version}")):
        if cand and library.is_tree(Path(cand)) and fetch.tree_sha256(Path(cand)) == fetch.TREE_SHA256.get(version):
            return Path(cand)
    pytest.skip("no unpacked cmsisdsp sdist here: run `edgeml deps cmsis-dsp`")


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the unpacked sdist, in a directory named like pip's."""
    dest = tmp_path / "src" / f"{library.DIST}-{library.installed_version()}"
    shutil.copytree(_pinned_tree(), dest, ignore=shutil.ignore_patterns(fetch.STAMP))
    return dest


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv(library.ENV_ROOT, raising=False)
    monkeypatch.setenv(library.ENV_CACHE, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_install_from_the_unpacked_sdist(cache, tree, capsys):
    assert deps(load_registry(), ["cmsis-dsp"], source=str(tree)) == 0
    dest = library.cache_dir()
    assert capsys.readouterr().out == f"cmsis-dsp: {library.installed_version()} in {dest.resolve()}\n"
    assert fetch.is_installed(dest, library.installed_version())
    assert (dest / fetch.STAMP).read_text().strip() == fetch.SDIST_SHA256[library.installed_version()]
    assert CmsisDsp().locate().root == dest.resolve()
    assert [p.name for p in cache.iterdir()] == [dest.name]
    # Idempotent: a complete cache returns at once, even given the parent directory.
    ino = os.stat(dest / fetch.STAMP).st_ino
    assert fetch.install(tree.parent) == dest and os.stat(dest / fetch.STAMP).st_ino == ino


def test_a_tampered_tree_is_refused_and_leaves_nothing(cache, tree):
    path = tree / "Source" / "TransformFunctions" / "arm_mfcc_f32.c"
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(edgeml.DataError) as err:
        fetch.install(tree)
    msg = str(err.value)
    assert "\n" not in msg and f"is not the unpacked cmsisdsp {library.installed_version()} sdist" in msg
    assert f"expected {fetch.TREE_SHA256[library.installed_version()]}" in msg and library.ENV_ROOT in msg
    assert list(cache.iterdir()) == []


def test_install_from_the_sdist_archive(cache):
    archive = next((p for p in SDISTS if p.is_file()), None)
    if archive is None:
        pytest.skip("no cmsisdsp sdist archive here (pip download --no-deps --no-binary :all: cmsisdsp==1.10.3)")
    dest = fetch.install(archive)
    assert fetch.is_installed(dest, library.installed_version())
    assert fetch.tree_sha256(dest) == fetch.TREE_SHA256[library.installed_version()]
    assert [p.name for p in cache.iterdir()] == [dest.name]
